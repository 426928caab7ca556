"""Looking into networks: size tables, graph drawings, the backprop trace and pictures of what
units learn. Everything here reads models and graphs built by the rest of chainrule; nothing in
the engine, the ops or nn imports it."""

from __future__ import annotations
