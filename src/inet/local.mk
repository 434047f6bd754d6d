# src/inet/local.mk — build fragment for src/inet (included from the top Makefile.am).
