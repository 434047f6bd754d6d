# tests/sim.mk — simulator tests.
