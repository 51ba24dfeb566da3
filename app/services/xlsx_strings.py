"""A workbook's shared-string table, kept in an encrypted temporary file while it is read.

Excel, LibreOffice and Google Sheets store every text cell once, in a table any cell may
point into, and openpyxl loads that table whole, even read-only: 37 MB for a 300k-row
customer sheet, growing with every row. :func:`read_shared_strings` reads the table once
into blocks of consecutive strings, sealed with a key that lives only in memory, and gives
it back as a table that decrypts a block when a cell asks for one of its strings. Writers
number strings in the order cells first use them, so rows read in order find their new
strings in the last block read; a value that rows repeat (a city, a birthday, a date) is
kept decrypted from its second use on, up to a bound, so it does not need its block again.

The temporary file holds the same text as the workbook, but encrypted, so what an import
leaves in the temporary folder (or in its free space, once deleted) is not readable.
"""

from __future__ import annotations

import array
import collections
import marshal
import tempfile
from collections.abc import Sequence
from typing import IO

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

# a small table stays a list: no temporary file for the workbooks most people import
SPOOL_MIN_STRINGS = 20_000
BLOCK_STRINGS = 32  # small blocks: a value used again far down the sheet costs one of them
CACHED_BLOCKS = 64
REPEATED_STRINGS = 100_000  # strings used twice, kept decrypted: ~15 MB at most


def read_shared_strings(source: IO[bytes]) -> Sequence[str] | SpooledStrings:
    """The strings of an xlsx ``sharedStrings.xml`` part, in table order, as openpyxl reads
    them (rich text flattened, phonetic runs left out); a big table comes back spooled."""
    from openpyxl.cell.text import Text
    from openpyxl.xml.constants import SHEET_MAIN_NS
    from openpyxl.xml.functions import iterparse

    si_tag = f"{{{SHEET_MAIN_NS}}}si"
    t_tag = f"{{{SHEET_MAIN_NS}}}t"
    kept: list[str] = []
    spool: SpooledStrings | None = None
    root = None
    try:
        for event, node in iterparse(source, events=("start", "end")):
            if root is None:
                root = node
            if event != "end" or node.tag != si_tag:
                continue
            if len(node) == 1 and node[0].tag == t_tag:  # plain text: most cells
                text = node[0].text or ""
            else:
                text = Text.from_tree(node).content
            kept.append(text.replace("x005F_", ""))  # as openpyxl unescapes
            # the parsed strings go: a cleared element still holds its place in the tree
            root.clear()
            if spool is None and len(kept) >= SPOOL_MIN_STRINGS:
                spool = SpooledStrings()
            if spool is not None and len(kept) >= BLOCK_STRINGS * 64:
                spool.extend(kept)
                kept = []
    except BaseException:
        if spool is not None:
            spool.close()
        raise
    if spool is None:
        return kept
    spool.extend(kept)
    return spool


class SpooledStrings(dict[int, str]):
    """Strings kept encrypted in an unnamed temporary file, read as ``table[index]`` the way
    openpyxl's sheet reader reads its list.

    A dict so that the strings worth keeping decrypted, those used more than once (up to
    :data:`REPEATED_STRINGS`), are its items and are found at C speed; any other index
    decrypts its block of :data:`BLOCK_STRINGS` (:meth:`__missing__`). Memory stays bounded
    whatever the table's size: those strings, the last :data:`CACHED_BLOCKS` blocks, and
    per string one bit (used before?) and a quarter of an 8-byte block offset.
    """

    def __init__(self) -> None:
        super().__init__()
        # unnamed where the system allows; close() (or collection) deletes it
        self._file = tempfile.TemporaryFile(prefix="regulars-strings-")  # noqa: SIM115
        self._aead = AESGCM(AESGCM.generate_key(bit_length=128))
        self._offsets = array.array("Q", [0])  # block n is sealed at [offsets[n], offsets[n+1])
        self._count = 0
        self._tail: list[str] = []  # strings not yet sealed (fewer than a block)
        self._blocks: collections.OrderedDict[int, list[str]] = collections.OrderedDict()
        self._seen = bytearray()

    def extend(self, strings: list[str]) -> None:
        """Add ``strings``, the next ones in table order."""
        tail = self._tail
        tail.extend(strings)
        whole = len(tail) - len(tail) % BLOCK_STRINGS
        for start in range(0, whole, BLOCK_STRINGS):
            self._seal(tail[start : start + BLOCK_STRINGS])
        del tail[:whole]
        self._count += len(strings)
        self._seen.extend(bytes((self._count + 7) // 8 - len(self._seen)))

    def _seal(self, block: list[str]) -> None:
        number = len(self._offsets) - 1
        sealed = self._aead.encrypt(_nonce(number), marshal.dumps(block), None)
        self._file.seek(self._offsets[-1])
        self._file.write(sealed)
        self._offsets.append(self._offsets[-1] + len(sealed))

    def __len__(self) -> int:
        return self._count

    def __missing__(self, index: int) -> str:
        if not 0 <= index < self._count:
            raise IndexError(f"shared string {index} of {self._count}")
        number, position = divmod(index, BLOCK_STRINGS)
        block = self._blocks.get(number)
        if block is not None:
            self._blocks.move_to_end(number)
        elif number == len(self._offsets) - 1:
            block = self._tail
        else:
            block = self._load(number)
        text = block[position]
        # kept from its second use on: most strings (an e-mail, a phone) are used once
        byte, bit = index >> 3, 1 << (index & 7)
        if not self._seen[byte] & bit:
            self._seen[byte] |= bit
        elif dict.__len__(self) < REPEATED_STRINGS:
            self[index] = text
        return text

    def _load(self, number: int) -> list[str]:
        offset = self._offsets[number]
        self._file.seek(offset)
        sealed = self._file.read(self._offsets[number + 1] - offset)
        # the file is ours and sealed: a failed check means the disk changed it under us
        block = marshal.loads(self._aead.decrypt(_nonce(number), sealed, None))
        self._blocks[number] = block
        if len(self._blocks) > CACHED_BLOCKS:
            self._blocks.popitem(last=False)
        return block

    def close(self) -> None:
        """Delete the temporary file (also done when the object is collected)."""
        self.clear()
        self._blocks.clear()
        self._file.close()


def close_strings(strings: Sequence[str] | SpooledStrings) -> None:
    """Let go of a table from :func:`read_shared_strings` (a no-op for a plain list)."""
    if isinstance(strings, SpooledStrings):
        strings.close()


def _nonce(number: int) -> bytes:
    # one key per table, so the block number alone never repeats a nonce
    return number.to_bytes(12, "big")
