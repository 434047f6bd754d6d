# tests/core.mk — test programs for the core module (included from tests/local.mk).
