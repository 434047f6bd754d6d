# drivers/local.mk — build fragment for drivers (included from the top Makefile.am).
include drivers/capture.mk
include drivers/fault.mk
