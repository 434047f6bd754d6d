# sim/local.mk — build fragment for sim (included from the top Makefile.am).
