"""The split of a rated row by its id, as earshot splits them (`earshot::polarity::data::split_of`):
FNV-1a 64 of the id, modulo 10; 0-1 test, 2 dev, the rest train. Shared by the scripts that read
the same sets as earshot."""


def fnv(s):
    h = 0xCBF29CE484222325
    for b in s.encode():
        h = ((h ^ b) * 0x100000001B3) & 0xFFFFFFFFFFFFFFFF
    return h


def split_of(row_id):
    m = fnv(row_id) % 10
    return "test" if m in (0, 1) else ("dev" if m == 2 else "train")
