# tests/local.mk — build fragment for tests (included from the top Makefile.am).
