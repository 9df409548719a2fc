"""Files: the one way to write (staged beside its place, published by one rename), digests; runs; model
metadata.  `from signtrain import store` gives the writing functions of store.files."""

from signtrain.store.files import (
                                   MODEL_SUFFIXES,
                                   RunPaths,
                                   atomic_path,
                                   ensure_dir,
                                   fault_point,
                                   file_digest,
                                   library_versions,
                                   model_stem,
                                   save_model,
                                   save_model_staged,
                                   save_preprocess,
                                   write_json,
                                   write_text,
                                   write_with,
)

__all__ = ["MODEL_SUFFIXES", "RunPaths", "atomic_path", "ensure_dir", "fault_point", "file_digest",
           "library_versions", "model_stem", "save_model", "save_model_staged", "save_preprocess", "write_json",
           "write_text", "write_with"]
