# doc/local.mk — build fragment for doc (included from the top Makefile.am).
dist_man5_MANS += doc/man5/margay-config.5
