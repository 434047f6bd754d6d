# tests/tcp.mk — test programs for the tcp module (included from tests/local.mk).
