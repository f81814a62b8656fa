"""``lightbox query``: C-FIND a remote archive (Study Root) or worklist server (MWL) from the shell.

    lightbox query --node AET@HOST:PORT [--level study|series|image] [--mwl] [-k KEY=VALUE ...]

Prints one line per match: the level's key columns, tab-separated, then the instance UID of
the level (Study, Series or SOP Instance UID). Exits 0 on success, 1 when the node cannot be
reached or answers with a failure (the reason on standard error), 2 on bad arguments.
``--node`` may also name a node of ``[[workstation.nodes]]``.
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

from pydicom.datadict import tag_for_keyword

from app.core.config import Config, load_config
from app.core.errors import AppError, ConfigError
from app.core.workstation_config import RemoteNode
from app.services.search import SPS_KEYS, WorklistQuery, level_identifier, search

COLUMNS = {
    "STUDY": ("PatientID", "PatientName", "StudyDate", "AccessionNumber", "ModalitiesInStudy", "StudyDescription",
              "StudyInstanceUID"),
    "SERIES": ("Modality", "SeriesNumber", "SeriesDescription", "NumberOfSeriesRelatedInstances", "SeriesInstanceUID"),
    "IMAGE": ("InstanceNumber", "SOPClassUID", "SOPInstanceUID"),
    "WORKLIST": ("PatientID", "PatientName", "AccessionNumber", "ScheduledProcedureStepStartDate",
                 "ScheduledProcedureStepStartTime", "Modality", "ScheduledStationAETitle", "StudyInstanceUID"),
}  # fmt: skip

_NODE = re.compile(r"^(?P<ae>[^@]{1,16})@(?P<host>[^:]+):(?P<port>\d{1,5})$")


def parse_node(text: str, config: Config) -> RemoteNode:
    """``AET@HOST:PORT`` as a node offering Q/R and MWL, or the name of a configured node."""
    m = _NODE.match(text.strip())
    if m:
        port = int(m["port"])
        if not 0 < port < 65536:
            raise ConfigError(f"--node {text}: the port must be 1-65535.")
        return RemoteNode(m["ae"], m["ae"], m["host"], port, ("qr", "mwl"))
    if "@" in text:
        raise ConfigError(f"--node {text!r}: write AET@HOST:PORT, e.g. ARCHIVE@pacs.example:104.")
    return config.workstation.node(text)


def add_common_arguments(parser: argparse.ArgumentParser) -> None:
    """``--node``, ``--config``, ``--calling-ae``, ``--timeout`` (shared with ``lightbox retrieve``)."""
    parser.add_argument("--node", required=True, help="AET@HOST:PORT, or the name of a configured node")
    parser.add_argument("--config", type=Path, action="append", default=[], help="extra configuration file (TOML)")
    parser.add_argument("--calling-ae", help="our AE title (default: [workstation] calling_ae_title)")
    parser.add_argument("--timeout", type=float, help="network timeout in seconds (default: [workstation])")


def load_cli_config(args: argparse.Namespace) -> Config:
    """The configuration with ``--calling-ae`` and ``--timeout`` applied."""
    overrides: dict[str, object] = {}
    if args.calling_ae:
        overrides["calling_ae_title"] = args.calling_ae
    if args.timeout:
        overrides["network_timeout"] = args.timeout
    return load_config(files=args.config, overrides={"workstation": overrides} if overrides else None)


def _keys(pairs: list[str]) -> dict[str, str]:
    out = {}
    for pair in pairs:
        keyword, sep, value = pair.partition("=")
        keyword = keyword.strip()
        if not sep or tag_for_keyword(keyword) is None:
            raise ConfigError(f"-k {pair!r}: write KEYWORD=VALUE with a DICOM keyword, e.g. PatientName=SMITH*.")
        out[keyword] = value
    return out


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="lightbox query", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    add_common_arguments(parser)
    parser.add_argument("--level", choices=("study", "series", "image"), default="study")
    parser.add_argument("--mwl", action="store_true", help="Modality Worklist C-FIND instead of Study Root")
    parser.add_argument("-k", "--key", action="append", default=[], metavar="KEY=VALUE",
                        help="matching key (DICOM keyword); SPS keys go into the Scheduled Procedure Step Sequence")
    args = parser.parse_args(argv)
    try:
        config = load_cli_config(args)
        node = parse_node(args.node, config)
        keys = _keys(args.key)
        if args.mwl:
            identifier = WorklistQuery().identifier()
            sps = identifier.ScheduledProcedureStepSequence[0]
            for keyword, value in keys.items():
                setattr(sps if keyword in SPS_KEYS else identifier, keyword, value)
            level = "WORKLIST"
        else:
            level = args.level.upper()
            identifier = level_identifier(level, keys=keys)
    except AppError as exc:
        print(f"lightbox query: {exc}", file=sys.stderr)
        return 2
    outcome = search(config.workstation, [node], identifier, worklist=args.mwl)
    for match in outcome.matches:
        print("\t".join(match.get(keyword) for keyword in COLUMNS[level]))
    status = outcome.statuses[0]
    print(f"{node.ae_title}: {status.message}", file=sys.stderr)
    return 0 if status.ok else 1
