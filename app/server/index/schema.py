"""The index schema: one table per level of the DICOM information model (PS3.3 A.1.2).

Patient -> Study -> Series -> Instance, with real columns for the attributes the
Storage SCP indexes and the C-FIND / QIDO-RS keys match on (PS3.4 C.6.2.1, PS3.18
10.6.1). SOP Instance UIDs are deliberately *not* unique: with the ``keep`` duplicate
policy two received copies of one instance are both stored (PS3.4 B.4.1).

The SQL is kept portable (SQLite by default, PostgreSQL for larger sites): only plain
types, no dialect-specific column types. Strings are stored decoded (Unicode); empty
attributes are stored as ``""`` rather than NULL so equality and uniqueness behave the
same on every backend. The Alembic migration in ``migrations/versions`` creates exactly
these tables; change both together.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Column,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)

metadata = MetaData()

#: Patient level (PS3.3 C.7.1.1 Patient Module).
patient = Table(
    "patient",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("patient_id", String(64), nullable=False),
    Column("issuer", String(64), nullable=False, default=""),
    Column("patient_name", String(324), nullable=False, default=""),
    # Lower-cased copy for case-insensitive PN matching (PS3.4 C.2.2.2.1).
    Column("patient_name_lc", String(324), nullable=False, default=""),
    Column("birth_date", String(8), nullable=False, default=""),
    Column("sex", String(16), nullable=False, default=""),
    # 1 once an administrator corrected the patient (revision 0005): its studies' files then
    # carry other values than these columns, and outbound data sets are overlaid with them.
    Column("corrected", Integer, nullable=False, default=0, server_default="0"),
    UniqueConstraint("patient_id", "issuer", name="uq_patient_id_issuer"),
)
# Name searches (single value or prefix wildcard) use it (revision 0004).
Index("ix_patient_name_lc", patient.c.patient_name_lc)

#: Study level (PS3.3 C.7.2.1 General Study Module).
study = Table(
    "study",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("patient_fk", Integer, ForeignKey("patient.id", ondelete="CASCADE"), nullable=False),
    Column("study_instance_uid", String(64), nullable=False),
    Column("study_date", String(8), nullable=False, default=""),
    Column("study_time", String(16), nullable=False, default=""),
    Column("study_description", String(64), nullable=False, default=""),
    Column("accession_number", String(64), nullable=False, default=""),
    Column("referring_physician_name", String(324), nullable=False, default=""),
    Column("study_id", String(16), nullable=False, default=""),
    # Backslash-joined distinct Modality values of the study's series (ModalitiesInStudy).
    Column("modalities", String(160), nullable=False, default=""),
    Column("num_series", Integer, nullable=False, default=0),
    Column("num_instances", Integer, nullable=False, default=0),
    # 1 once corrected, merged into another patient or split off (revision 0005; see patient).
    Column("corrected", Integer, nullable=False, default=0, server_default="0"),
    UniqueConstraint("study_instance_uid", name="uq_study_uid"),
)
Index("ix_study_patient", study.c.patient_fk)
Index("ix_study_date", study.c.study_date)
Index("ix_study_accession", study.c.accession_number)

#: Series level (PS3.3 C.7.3.1 General Series Module).
series = Table(
    "series",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("study_fk", Integer, ForeignKey("study.id", ondelete="CASCADE"), nullable=False),
    Column("series_instance_uid", String(64), nullable=False),
    Column("modality", String(16), nullable=False, default=""),
    Column("series_number", Integer, nullable=True),
    Column("series_description", String(64), nullable=False, default=""),
    Column("series_date", String(8), nullable=False, default=""),
    Column("series_time", String(16), nullable=False, default=""),
    Column("body_part", String(16), nullable=False, default=""),
    Column("num_instances", Integer, nullable=False, default=0),
    UniqueConstraint("series_instance_uid", name="uq_series_uid"),
)
Index("ix_series_study", series.c.study_fk)

#: Instance level (PS3.3 C.12.1 SOP Common Module, C.7.6.1, C.7.6.3) and where it is stored.
instance = Table(
    "instance",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("series_fk", Integer, ForeignKey("series.id", ondelete="CASCADE"), nullable=False),
    Column("sop_instance_uid", String(64), nullable=False),
    Column("sop_class_uid", String(64), nullable=False),
    Column("instance_number", Integer, nullable=True),
    Column("transfer_syntax_uid", String(64), nullable=False),
    Column("image_rows", Integer, nullable=True),
    Column("image_columns", Integer, nullable=True),
    Column("number_of_frames", Integer, nullable=True),
    Column("relpath", String(80), nullable=False),
    Column("size", BigInteger, nullable=False),
    Column("received_at", DateTime(timezone=False), nullable=False),
    Column("source_ae", String(64), nullable=False, default=""),
    # "<algorithm>:<hex digest>" of the stored file, recorded at ingest (Storage Commitment
    # checks the file against it, PS3.4 J.3.2); NULL for rows indexed before revision 0002.
    Column("checksum", String(80), nullable=True),
    UniqueConstraint("relpath", name="uq_instance_relpath"),
)
Index("ix_instance_series", instance.c.series_fk)
Index("ix_instance_sop_uid", instance.c.sop_instance_uid)

#: Modality Worklist items (PS3.4 K.6.1, the reference's appendix F), one per Scheduled
#: Procedure Step. ``dataset`` holds the whole item in the DICOM JSON model (PS3.18 F.2);
#: the columns are copies of the matching keys.
worklist_item = Table(
    "worklist_item",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("patient_id", String(64), nullable=False, default=""),
    Column("patient_name", String(324), nullable=False, default=""),
    Column("patient_name_lc", String(324), nullable=False, default=""),
    Column("birth_date", String(8), nullable=False, default=""),
    Column("sex", String(16), nullable=False, default=""),
    Column("accession_number", String(64), nullable=False, default=""),
    Column("referring_physician_name", String(324), nullable=False, default=""),
    Column("requested_procedure_id", String(16), nullable=False, default=""),
    Column("study_instance_uid", String(64), nullable=False, default=""),
    Column("sps_id", String(16), nullable=False, default=""),
    Column("sps_start_date", String(8), nullable=False, default=""),
    Column("sps_start_time", String(16), nullable=False, default=""),
    Column("modality", String(16), nullable=False, default=""),
    # Backslash-joined Scheduled Station AE Title values (AE, VM 1-n; revision 0003).
    Column("station_ae_title", String(160), nullable=False, default=""),
    Column("station_name", String(16), nullable=False, default=""),
    Column("performing_physician_name", String(324), nullable=False, default=""),
    # SCHEDULED, ARRIVED, READY, IN PROGRESS, COMPLETED or DISCONTINUED (PS3.3 C.4.10); the
    # MPPS SCP moves it on, the MWL SCP leaves COMPLETED/DISCONTINUED out when configured so.
    Column("status", String(16), nullable=False, default="SCHEDULED"),
    Column("dataset", Text, nullable=False),
    Column("created_at", DateTime(timezone=False), nullable=False),
    Column("updated_at", DateTime(timezone=False), nullable=False),
)
Index("ix_worklist_sps_date", worklist_item.c.sps_start_date)
Index("ix_worklist_accession", worklist_item.c.accession_number)
Index("ix_worklist_sps_id", worklist_item.c.sps_id)

#: Modality Performed Procedure Steps received by the MPPS SCP (PS3.4 F.7), one per SOP
#: Instance UID; ``dataset`` is the current attribute set in the DICOM JSON model.
mpps = Table(
    "mpps",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("sop_instance_uid", String(64), nullable=False),
    # IN PROGRESS, COMPLETED or DISCONTINUED (PS3.3 C.7.3.1 Performed Procedure Step Status)
    Column("status", String(16), nullable=False),
    Column("calling_ae_title", String(16), nullable=False, default=""),
    Column("patient_id", String(64), nullable=False, default=""),
    Column("study_instance_uid", String(64), nullable=False, default=""),
    Column("accession_number", String(64), nullable=False, default=""),
    Column("dataset", Text, nullable=False),
    Column("created_at", DateTime(timezone=False), nullable=False),
    Column("updated_at", DateTime(timezone=False), nullable=False),
    UniqueConstraint("sop_instance_uid", name="uq_mpps_uid"),
)

#: Durable outbound work (commitment reports, MPPS relay, sends): queued -> running ->
#: done | failed | cancelled; retried with back-off until ``max_attempts``.
job = Table(
    "job",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("kind", String(32), nullable=False),
    Column("state", String(16), nullable=False),
    Column("description", String(200), nullable=False, default=""),
    Column("payload", Text, nullable=False),
    Column("progress", Text, nullable=False, default="{}"),
    Column("attempts", Integer, nullable=False, default=0),
    Column("max_attempts", Integer, nullable=False),
    Column("next_attempt_at", DateTime(timezone=False), nullable=False),
    Column("last_error", Text, nullable=False, default=""),
    Column("created_at", DateTime(timezone=False), nullable=False),
    Column("updated_at", DateTime(timezone=False), nullable=False),
)
Index("ix_job_due", job.c.state, job.c.next_attempt_at)

#: Reading status of a study (revision 0005): a row once it was read or approved, none while
#: it is new; removed with the study.
study_status = Table(
    "study_status",
    metadata,
    Column("study_fk", Integer, ForeignKey("study.id", ondelete="CASCADE"), primary_key=True),
    Column("status", String(16), nullable=False),  # read | approved
    Column("approved_by", String(64), nullable=False, default=""),
    Column("approved_at", DateTime(timezone=False), nullable=True),
    Column("read_by", String(64), nullable=False, default=""),
    Column("read_at", DateTime(timezone=False), nullable=True),
)

#: The change log (revision 0005): approvals, corrections, merges, splits, deletions, in the
#: order they were committed (``id`` only grows; rows are never deleted). ``detail`` is JSON.
change_log = Table(
    "change_log",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("at", DateTime(timezone=False), nullable=False),
    Column("kind", String(32), nullable=False),
    Column("level", String(16), nullable=False),
    Column("study_instance_uid", String(64), nullable=False, default=""),
    Column("series_instance_uid", String(64), nullable=False, default=""),
    Column("sop_instance_uid", String(64), nullable=False, default=""),
    Column("patient_id", String(64), nullable=False, default=""),
    Column("by", String(64), nullable=False, default=""),
    Column("detail", Text, nullable=False, default="{}"),
    sqlite_autoincrement=True,
)

#: Stable-study notices (revision 0006): the newest instance time of a study when its "no new
#: instance for a while" notification was last enqueued (``app.server.stable_study``).
study_notice = Table(
    "study_notice",
    metadata,
    Column("study_fk", Integer, ForeignKey("study.id", ondelete="CASCADE"), primary_key=True),
    Column("last_received_at", DateTime(timezone=False), nullable=False),
    Column("notified_at", DateTime(timezone=False), nullable=False),
)
# The stable-study check looks at recently received instances only (revision 0006).
Index("ix_instance_received_at", instance.c.received_at)

#: The external archive tier (revision 0007): one row per study sent to the archive.
#: ``state``: sending -> committing (N-ACTION answered, report awaited under
#: ``transaction_uid``) -> committed | failed; ``online`` 0 once the policy removed the
#: files (the catalogue rows stay); ``online_until`` keeps a fetched-back study online.
archive_study = Table(
    "archive_study",
    metadata,
    Column("study_fk", Integer, ForeignKey("study.id", ondelete="CASCADE"), primary_key=True),
    Column("state", String(16), nullable=False),
    Column("job_id", Integer, nullable=True),
    Column("transaction_uid", String(64), nullable=False, default=""),
    Column("requested_at", DateTime(timezone=False), nullable=False),
    Column("committed_at", DateTime(timezone=False), nullable=True),
    Column("online", Integer, nullable=False, default=1, server_default="1"),
    Column("online_until", DateTime(timezone=False), nullable=True),
    Column("removed_at", DateTime(timezone=False), nullable=True),
    Column("last_error", Text, nullable=False, default=""),
    # a fetch-back claimed by one server process until it ends or expires (revision 0008)
    Column("fetch_owner", String(128), nullable=True),
    Column("fetch_expires_at", DateTime(timezone=False), nullable=True),
)
Index("ix_archive_study_transaction", archive_study.c.transaction_uid)

#: Per instance of an archived study: whether the archive committed to keep it (revision
#: 0007); ``failure_reason`` is the report's Failure Reason (PS3.4 J.3.3.1.1) when it did not.
archive_instance = Table(
    "archive_instance",
    metadata,
    Column("study_fk", Integer, ForeignKey("study.id", ondelete="CASCADE"), primary_key=True),
    Column("sop_instance_uid", String(64), primary_key=True),
    Column("committed", Integer, nullable=False),
    Column("failure_reason", Integer, nullable=True),
)

#: Named monotonically increasing counters (``changes``, ``request``), updated in the
#: same transaction as the rows they count.
counter = Table(
    "counter",
    metadata,
    Column("name", String(32), primary_key=True),
    Column("value", BigInteger, nullable=False, default=0),
)

#: Counter names.
CHANGES = "changes"
REQUEST = "request"
