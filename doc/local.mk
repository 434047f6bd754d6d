# doc/local.mk — build fragment for doc (included from the top Makefile.am).
