# src/core/config.mk — configuration loader (included from src/core/local.mk).
