"""Remote nodes saved from the workstation: only the ``[[workstation.nodes]]`` tables of the
user's file change, and what is saved reads back through the configuration loader."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.core.config import load_config
from app.core.errors import ConfigError
from app.core.workstation_config import RemoteNode
from app.services.node_settings import check_nodes, save_nodes

USER_FILE = """# my settings
[workstation]
server_url = "http://pacs.example:7880"   # shared server

[[workstation.nodes]]
name = "old"
ae_title = "OLD"
host = "old.example"
port = 104

[workstation.temporary_store]
port = 7821
"""


def test_save_replaces_only_the_node_tables(tmp_path: Path) -> None:
    path = tmp_path / "lightbox.toml"
    path.write_text(USER_FILE)
    nodes = [RemoteNode("archive", "ARCHIVE", "pacs.example", 11112, ("qr",)),
             RemoteNode("ris", "RIS_MWL", "ris.example", 4006, ("mwl",))]
    saved = save_nodes(path, nodes)
    assert saved == tuple(nodes)
    text = path.read_text()
    assert "# my settings" in text and "# shared server" in text and "OLD" not in text
    config = load_config(files=[path], include_user_file=False)
    assert config.workstation.nodes == tuple(nodes)
    assert config.workstation.server_url == "http://pacs.example:7880"
    assert config.workstation.temporary_store.port == 7821


def test_save_creates_the_file_and_removing_all_nodes_works(tmp_path: Path) -> None:
    path = tmp_path / "new" / "lightbox.toml"
    save_nodes(path, [RemoteNode("a", "A", "h", 1)])
    assert load_config(files=[path], include_user_file=False).workstation.nodes[0].ae_title == "A"
    save_nodes(path, [])
    assert load_config(files=[path], include_user_file=False).workstation.nodes == ()


def test_invalid_nodes_are_refused_with_the_loader_message(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="AE title"):
        check_nodes([RemoteNode("x", "BACK\\SLASH", "h", 104)])
    with pytest.raises(ConfigError, match="distinct"):
        check_nodes([RemoteNode("x", "A", "h", 104), RemoteNode("x", "B", "h", 104)])
    path = tmp_path / "inline.toml"
    path.write_text('[workstation]\nnodes = [{name = "i", ae_title = "I", host = "h", port = 1}]\n')
    saved = save_nodes(path, [RemoteNode("a", "A", "h", 1)])  # an inline array is replaced as well
    assert load_config(files=[path], include_user_file=False).workstation.nodes == saved
    assert saved == (RemoteNode("a", "A", "h", 1),) and '"i"' not in path.read_text()
    path.write_text("[workstation\n")  # not TOML: refused, the file left as it was
    with pytest.raises(ConfigError, match="not valid TOML"):
        save_nodes(path, [RemoteNode("a", "A", "h", 1)])
    assert path.read_text() == "[workstation\n"
