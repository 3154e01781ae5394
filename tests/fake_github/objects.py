"""The fake GitHub's object database: real git blobs, trees and commits with real sha1 ids."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

BLOB_MODE = "100644"
TREE_MODE = "040000"


def git_sha(kind: str, payload: bytes) -> str:
    """Return the id git gives an object of this kind and payload."""
    header = f"{kind} {len(payload)}\0".encode()
    return hashlib.sha1(header + payload, usedforsecurity=False).hexdigest()


@dataclass(frozen=True)
class TreeEntry:
    """One name in a tree: a blob (file) or another tree (folder)."""

    name: str
    mode: str
    sha: str

    @property
    def is_tree(self) -> bool:
        return self.mode == TREE_MODE


@dataclass(frozen=True)
class Commit:
    """A commit as the fake keeps it."""

    sha: str
    tree: str
    parents: tuple[str, ...]
    message: str
    timestamp: int


@dataclass
class ObjectStore:
    """Content-addressed blobs, trees and commits, as in a git repository."""

    blobs: dict[str, bytes] = field(default_factory=dict)
    trees: dict[str, tuple[TreeEntry, ...]] = field(default_factory=dict)
    commits: dict[str, Commit] = field(default_factory=dict)

    def add_blob(self, content: bytes) -> str:
        sha = git_sha("blob", content)
        self.blobs[sha] = content
        return sha

    def add_tree(self, entries: list[TreeEntry]) -> str:
        # Git sorts tree entries by name, with folders compared as if they ended in "/".
        ordered = tuple(sorted(entries, key=lambda e: e.name + ("/" if e.is_tree else "")))
        payload = b"".join(
            f"{e.mode.lstrip('0')} {e.name}".encode() + b"\0" + bytes.fromhex(e.sha)
            for e in ordered
        )
        sha = git_sha("tree", payload)
        self.trees[sha] = ordered
        return sha

    def add_commit(
        self, tree: str, parents: tuple[str, ...], message: str, timestamp: int
    ) -> Commit:
        lines = [f"tree {tree}", *(f"parent {p}" for p in parents)]
        signature = f"PowerStats Fake <fake@example.invalid> {timestamp} +0000"
        lines += [f"author {signature}", f"committer {signature}", "", message]
        sha = git_sha("commit", "\n".join(lines).encode())
        commit = Commit(sha, tree, parents, message, timestamp)
        self.commits[sha] = commit
        return commit

    def flatten(self, tree_sha: str, prefix: str = "") -> dict[str, str]:
        """Return {path: blob sha} for every file below a tree."""
        files: dict[str, str] = {}
        for entry in self.trees[tree_sha]:
            path = f"{prefix}{entry.name}"
            if entry.is_tree:
                files.update(self.flatten(entry.sha, f"{path}/"))
            else:
                files[path] = entry.sha
        return files

    def walk(self, tree_sha: str, prefix: str = "") -> list[tuple[str, TreeEntry]]:
        """Return (path, entry) for every blob and tree below a tree, folders first."""
        found: list[tuple[str, TreeEntry]] = []
        for entry in self.trees[tree_sha]:
            path = f"{prefix}{entry.name}"
            found.append((path, entry))
            if entry.is_tree:
                found.extend(self.walk(entry.sha, f"{path}/"))
        return found

    def build_tree(self, files: dict[str, str]) -> str:
        """Store the nested trees for {path: blob sha} and return the root tree's id."""
        here: list[TreeEntry] = []
        folders: dict[str, dict[str, str]] = {}
        for path, sha in files.items():
            head, _, rest = path.partition("/")
            if rest:
                folders.setdefault(head, {})[rest] = sha
            else:
                here.append(TreeEntry(head, BLOB_MODE, sha))
        for name, inner in folders.items():
            here.append(TreeEntry(name, TREE_MODE, self.build_tree(inner)))
        return self.add_tree(here)

    def is_ancestor(self, ancestor: str, descendant: str) -> bool:
        """Whether `ancestor` is reachable from `descendant` (a fast-forward is possible)."""
        todo = [descendant]
        seen: set[str] = set()
        while todo:
            sha = todo.pop()
            if sha == ancestor:
                return True
            if sha in seen or sha not in self.commits:
                continue
            seen.add(sha)
            todo.extend(self.commits[sha].parents)
        return False
