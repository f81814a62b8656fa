"""Ingest: write file -> commit index -> roll back file on failure -> notify listeners.

CONTRACT (implemented by the server-core work; used by handlers/ and api/):

    @dataclass(frozen=True)
    class StoreOutcome:
        status: int          # DICOM status to answer (0x0000, 0xA700, 0x0111, 0xA900, 0xC000, 0xB000..)
        comment: str = ""    # Error Comment (<= 64 chars) for failures/warnings
        sop_instance_uid: str = ""

    class Ingest:                      # thread-safe; one per server process
        def store_encoded(self, dataset: bytes | BinaryIO, *, transfer_syntax: str, sop_class_uid: str,
                          sop_instance_uid: str, source_ae: str = "", called_ae: str = "") -> StoreOutcome
            '''`dataset` is the encoded data set (no file meta), as received in a C-STORE.'''
        def store_dataset(self, ds: pydicom.Dataset, *, source: str = "") -> StoreOutcome
            '''A parsed data set with file_meta (STOW-RS); same policies.'''
"""
