"""One fake repository: its objects, its branches and the file view of a branch."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from .objects import Commit, ObjectStore


@dataclass
class Repository:
    """A repository as the fake GitHub holds it (starts empty unless given files)."""

    owner: str
    name: str
    default_branch: str = "main"
    private: bool = True
    objects: ObjectStore = field(default_factory=ObjectStore)
    refs: dict[str, str] = field(default_factory=dict)  # branch name -> commit sha

    @property
    def full_name(self) -> str:
        return f"{self.owner}/{self.name}"

    @property
    def is_empty(self) -> bool:
        return not self.refs

    def head(self, branch: str | None = None) -> str | None:
        return self.refs.get(branch or self.default_branch)

    def blob_shas(self, branch: str | None = None) -> dict[str, str]:
        """Return {path: blob sha} of a branch's files ({} for a missing branch)."""
        head = self.head(branch)
        if head is None:
            return {}
        return self.objects.flatten(self.objects.commits[head].tree)

    def files(self, branch: str | None = None) -> dict[str, bytes]:
        """Return {path: content} of a branch's files."""
        return {p: self.objects.blobs[s] for p, s in self.blob_shas(branch).items()}

    def history(self, branch: str | None = None) -> list[Commit]:
        """Return the branch's commits, newest first, following first parents."""
        commits: list[Commit] = []
        sha = self.head(branch)
        while sha is not None:
            commit = self.objects.commits[sha]
            commits.append(commit)
            sha = commit.parents[0] if commit.parents else None
        return commits

    def commit_files(
        self,
        changes: Mapping[str, bytes | None],
        message: str,
        timestamp: int,
        branch: str | None = None,
    ) -> Commit:
        """Commit file changes (None deletes) on top of a branch, as someone pushing would."""
        branch = branch or self.default_branch
        files = self.blob_shas(branch)
        for path, content in changes.items():
            if content is None:
                files.pop(path, None)
            else:
                files[path] = self.objects.add_blob(content)
        tree = self.objects.build_tree(files)
        head = self.head(branch)
        commit = self.objects.add_commit(tree, (head,) if head else (), message, timestamp)
        self.refs[branch] = commit.sha
        return commit
