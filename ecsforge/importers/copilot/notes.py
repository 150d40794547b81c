"""What the import could not carry over, or carried over only approximately: the report."""

from __future__ import annotations

from dataclasses import dataclass, field

NOT_IMPORTED = "not imported"
APPROXIMATE = "approximate"


@dataclass(frozen=True, order=True)
class Note:
    file: str
    line: int
    column: int
    field: str
    kind: str
    text: str

    def format(self) -> str:
        return f"{self.file}:{self.line}:{self.column}: {self.field}: {self.kind}; {self.text}"


@dataclass
class Report:
    """Collected once for all environments: a note found in every environment is printed once."""

    notes: set[Note] = field(default_factory=set)
    # ${VAR} references the written files hold, with what each one is.
    variables: dict[str, str] = field(default_factory=dict)
    written: list[str] = field(default_factory=list)
    application: str = ""
    # (file, field) of every Copilot field a mapper read; those without a note were imported as written.
    mapped: set[tuple[str, str]] = field(default_factory=set)
    files_read: int = 0
    files_not_used: int = 0

    def add(self, note: Note) -> None:
        self.notes.add(note)

    def variable(self, name: str, meaning: str) -> str:
        self.variables.setdefault(name, meaning)
        return "${" + name + "}"

    def lines(self) -> list[str]:
        skipped = sorted(n for n in self.notes if n.kind == NOT_IMPORTED)
        approximate = sorted(n for n in self.notes if n.kind == APPROXIMATE)
        out = [n.format() for n in skipped]
        if approximate:
            out.append("")
            out.append("Mapped approximately:")
            out.extend(n.format() for n in approximate)
        if self.variables:
            out.append("")
            out.append("Still missing, written as ${VAR} references (export them, or edit the files):")
            out.extend(f"  {name}: {meaning}" for name, meaning in sorted(self.variables.items()))
        if self.written:
            out.append("")
            out.append("Wrote:")
            out.extend(f"  {path}" for path in self.written)
        out.append("")
        out.append(self.summary())
        return out

    def summary(self) -> str:
        noted = {(n.file, n.field) for n in self.notes}
        imported = len(self.mapped - noted)
        approximate = sum(1 for n in self.notes if n.kind == APPROXIMATE)
        skipped = sum(1 for n in self.notes if n.kind == NOT_IMPORTED)
        return (
            f"copilot workspace {self.application!r}: {imported} imported, {approximate} approximate, {skipped} "
            f"not imported (fields and files); {self.files_read} files read, {self.files_not_used} of them not "
            "used (each reported above)"
        )
