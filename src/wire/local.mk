# src/wire/local.mk — build fragment for src/wire (included from the top Makefile.am).
