# tests/config.mk — test programs for the config module (included from tests/local.mk).
