# tests/replay.mk — capture replay tests.
