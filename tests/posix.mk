# tests/posix.mk — test programs for the posix module (included from tests/local.mk).
