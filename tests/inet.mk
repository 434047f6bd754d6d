# tests/inet.mk — test programs for the inet module (included from tests/local.mk).
