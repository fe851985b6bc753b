"""The benefit engine: pure functions over integer fen, no ORM, no HTTP.

- `records`: settlement-record fields (our names and the national platform's), row by
  row and over polars frames.
- `ledger`: one member-year's ledger — `adjudicate_stay`, `adjudicate_member_year` with a
  `LedgerState` in and out (what claims/settlement imports call under the lock).
- `engine`: a whole file row by row — `adjudicate_columns` (statuses in domain.md order);
  `rowpath` runs it over a polars table (`huzhu simulate --engine row`).
- `bulk`: the same over polars columns — `adjudicate_frame`; a property test holds the
  two equal to the fen.
- `outcomes`: statuses, reason codes/messages, breakdown types.
- `explain`: the member-facing Chinese sentence for an outcome.
- `amounts`: exact amount/date parsing shared by both engines.
"""
