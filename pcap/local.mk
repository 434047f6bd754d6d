# pcap/local.mk — capture reading, replay and judging.
