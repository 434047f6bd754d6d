# src/tools/local.mk — build fragment for src/tools (included from the top Makefile.am).
