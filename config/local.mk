dist_doc_DATA = config/staffsync.yaml config/example.yaml
