# examples/local.mk — build fragment for examples (included from the top Makefile.am).
