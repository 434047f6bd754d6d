# tests/wire.mk — test programs for the wire module (included from tests/local.mk).
