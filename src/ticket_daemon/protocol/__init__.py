"""The sans-I/O protocol every door speaks: the strict JSON reader and writer (:mod:`.jsontext`), typed requests
and refusals (:mod:`.requests`), reply messages and their exact texts (:mod:`.messages`), a connection's state
(:mod:`.connection`, :mod:`.flood`) and the token match (:mod:`.tokens`). No sockets, threads, event loop or files:
doors move bytes, this package says what they mean."""
