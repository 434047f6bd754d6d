# src/core/config.mk — configuration loader (included from src/core/local.mk).
libmargay_la_SOURCES += src/core/config.c
