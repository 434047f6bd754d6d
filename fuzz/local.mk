# fuzz/local.mk — fuzz targets, their standalone regression drivers and corpora scripts.
