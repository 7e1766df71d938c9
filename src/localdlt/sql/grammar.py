"""The grammar of Databricks' pipeline SQL statements (lark, Earley).

Only the pipeline statement around a query is parsed here: ``CREATE ... STREAMING TABLE`` /
``MATERIALIZED VIEW`` / ``VIEW``, ``CREATE FLOW``, ``AUTO CDC INTO`` / ``APPLY CHANGES INTO`` and
``SET``. The query after ``AS`` (and every expression: expectations, CDC conditions, sequencing)
is kept as text and handed to Spark's own parser (:mod:`localdlt.sql.query`).

Reference: https://docs.databricks.com/aws/en/ldp/developer/ldp-sql-ref-create-streaming-table
and its sibling pages (create-materialized-view, create-view, create-flow, apply-changes-into).
"""

from __future__ import annotations

import functools

from lark import Lark

# Words that end a free expression inside an AUTO CDC statement (its clause keywords).
_CDC_CLAUSE_WORDS = "APPLY|SEQUENCE|COLUMNS|STORED|TRACK|IGNORE|KEYS"

GRAMMAR = r"""
start: create_dataset | create_view | create_flow | cdc_statement | set_statement

// ---- CREATE [OR REFRESH] [PRIVATE|TEMPORARY] STREAMING TABLE | MATERIALIZED VIEW | LIVE TABLE
create_dataset: _CREATE or_refresh? visibility? dataset_kind name table_spec? table_clause* dataset_body?
or_refresh: _OR (_REFRESH | _REPLACE)
visibility: PRIVATE | TEMPORARY
dataset_kind: _STREAMING _LIVE? _TABLE          -> streaming_table
            | _INCREMENTAL _LIVE? _TABLE        -> streaming_table
            | _MATERIALIZED _VIEW               -> materialized_view
            | _LIVE _TABLE                      -> materialized_view
dataset_body: _AS query                          -> as_query
            | _FLOW _INSERT ONCE? _BY _NAME query -> flow_insert
            | _FLOW _AUTO _CDC ONCE? cdc_clauses  -> flow_cdc

table_spec: "(" spec_item ("," spec_item)* ")"
?spec_item: expectation | table_constraint | column_def
expectation.2: _CONSTRAINT ident _EXPECT paren_text violation?
violation: _ON _VIOLATION _DROP _ROW            -> drop_row
         | _ON _VIOLATION _FAIL _UPDATE         -> fail_update
table_constraint.1: (_CONSTRAINT ident)? CONSTRAINT_KIND _any_token*
column_def: COLUMN_START _any_token*

table_clause: _PARTITIONED _BY paren_names      -> partitioned_by
            | _CLUSTER _BY paren_names          -> cluster_by
            | _CLUSTER _BY _AUTO                -> cluster_by_auto
            | _COMMENT STRING                   -> comment
            | _TBLPROPERTIES properties         -> tblproperties
            | _USING ident                      -> using
            | _LOCATION STRING                  -> location
            | _WITH _ROW _FILTER _tokens        -> row_filter
            | _SCHEDULE _tokens                 -> schedule

properties: "(" property ("," property)* ")"
property: property_key "="? property_value
property_key: STRING | ident ("." ident)*
?property_value: STRING | NUMBER | ident

// ---- CREATE [OR REPLACE] [TEMPORARY] [LIVE] VIEW
create_view: _CREATE or_refresh? TEMPORARY? _LIVE? _VIEW name view_columns? table_clause* _AS query
view_columns: "(" _tokens ")"

// ---- CREATE FLOW name [COMMENT '...'] AS {INSERT [ONCE] INTO [ONCE] t [BY NAME] query | AUTO CDC ...}
create_flow: _CREATE _FLOW name (_COMMENT STRING)? _AS flow_body
flow_body: _INSERT ONCE? _INTO ONCE? name (_BY _NAME)? query -> insert_into
         | cdc_into                                          -> auto_cdc

// ---- AUTO CDC INTO / APPLY CHANGES INTO
cdc_statement: cdc_into
cdc_into: (_AUTO _CDC | _APPLY _CHANGES) ONCE? _INTO name cdc_clauses
cdc_clauses: _FROM cdc_source _KEYS paren_names _cdc_before sequence_by _cdc_after
_cdc_before: ignore_null? delete_when? truncate_when?
_cdc_after: columns? stored_as? track_history?
cdc_source: STREAM "(" name ")"                 -> stream_source
          | STREAM name                         -> stream_source
          | name                                -> batch_source
ignore_null: _IGNORE _NULL _UPDATES
delete_when: _APPLY _AS _DELETE _WHEN expression
truncate_when: _APPLY _AS _TRUNCATE _WHEN expression
sequence_by: _SEQUENCE _BY expression
columns: _COLUMNS column_selection
stored_as: _STORED _AS _SCD _TYPE NUMBER
track_history: _TRACK _HISTORY _ON column_selection
column_selection: "*" _EXCEPT paren_names       -> except_columns
                | name ("," name)*              -> only_columns

// ---- SET key = value
set_statement: _SET SET_KEY "=" SET_VALUE?      -> set_conf
             | _SET SET_KEY                     -> set_show

// ---- pieces
name: ident ("." ident)*
ident: WORD | QUOTED_IDENT
paren_names: "(" name ("," name)* ")"
paren_text: "(" _tokens? ")"
expression: _expr_token+
_expr_token: EXPR_WORD | STRING | QUOTED_IDENT | NUMBER | OPERATOR | "." | "*" | "=" | paren_text
_tokens: (_any_token | ",")+
_any_token: WORD | STRING | QUOTED_IDENT | NUMBER | OPERATOR | "." | "*" | "=" | paren_text
query: QUERY

ONCE: /ONCE\b/i
STREAM: /STREAM\b/i
PRIVATE: /PRIVATE\b/i
TEMPORARY: /TEMPORARY\b/i

_CREATE: /CREATE\b/i
_OR: /OR\b/i
_REFRESH: /REFRESH\b/i
_REPLACE: /REPLACE\b/i
_STREAMING: /STREAMING\b/i
_INCREMENTAL: /INCREMENTAL\b/i
_LIVE: /LIVE\b/i
_TABLE: /TABLE\b/i
_MATERIALIZED: /MATERIALIZED\b/i
_VIEW: /VIEW\b/i
_AS: /AS\b/i
_FLOW: /FLOW\b/i
_INSERT: /INSERT\b/i
_INTO: /INTO\b/i
_BY: /BY\b/i
_NAME: /NAME\b/i
_AUTO: /AUTO\b/i
_CDC: /CDC\b/i
_APPLY: /APPLY\b/i
_CHANGES: /CHANGES\b/i
_FROM: /FROM\b/i
_KEYS: /KEYS\b/i
_IGNORE: /IGNORE\b/i
_NULL: /NULL\b/i
_UPDATES: /UPDATES\b/i
_DELETE: /DELETE\b/i
_TRUNCATE: /TRUNCATE\b/i
_WHEN: /WHEN\b/i
_SEQUENCE: /SEQUENCE\b/i
_COLUMNS: /COLUMNS\b/i
_EXCEPT: /EXCEPT\b/i
_STORED: /STORED\b/i
_SCD: /SCD\b/i
_TYPE: /TYPE\b/i
_TRACK: /TRACK\b/i
_HISTORY: /HISTORY\b/i
_ON: /ON\b/i
_CONSTRAINT: /CONSTRAINT\b/i
_EXPECT: /EXPECT\b/i
_VIOLATION: /VIOLATION\b/i
_DROP: /DROP\b/i
_ROW: /ROW\b/i
_FAIL: /FAIL\b/i
_UPDATE: /UPDATE\b/i
_PARTITIONED: /PARTITIONED\b/i
_CLUSTER: /CLUSTER\b/i
_COMMENT: /COMMENT\b/i
_TBLPROPERTIES: /TBLPROPERTIES\b/i
_USING: /USING\b/i
_LOCATION: /LOCATION\b/i
_WITH: /WITH\b/i
_FILTER: /FILTER\b/i
_SCHEDULE: /SCHEDULE\b/i
_SET: /SET\b/i

// The query runs to the end of the statement; Spark parses it.
QUERY: /(?is)(?:(?:SELECT|WITH|FROM|VALUES|TABLE)\b|\().*/
SET_KEY: /[^\s=][^=]*?(?=\s*(=|$))/
SET_VALUE: /(?s)\S.*/
CONSTRAINT_KIND: /(?i)(PRIMARY|FOREIGN|CHECK)\b/
COLUMN_START: /(?i)(?!(CONSTRAINT|PRIMARY|FOREIGN|CHECK)\b)([A-Za-z_][A-Za-z0-9_]*|`(?:[^`]|``)+`)/
EXPR_WORD: /(?i)(?!(__CDC_WORDS__)\b)[A-Za-z_][A-Za-z0-9_]*/
WORD: /[A-Za-z_][A-Za-z0-9_]*/
QUOTED_IDENT: /`(?:[^`]|``)+`/
STRING: /'(?:[^'\\]|\\.)*'/ | /"(?:[^"\\]|\\.)*"/
NUMBER: /\d+(\.\d+)?([eE][+-]?\d+)?[A-Za-z]*/
OPERATOR: /[<>!]=?|<=>|<>|==|\|\||[-+\/%&|^~:?]|::|\[|\]|\{|\}/

COMMENT_LINE: /--[^\n]*/
COMMENT_BLOCK: /\/\*(.|\n)*?\*\//
%import common.WS
%ignore WS
%ignore COMMENT_LINE
%ignore COMMENT_BLOCK
""".replace("__CDC_WORDS__", _CDC_CLAUSE_WORDS)


@functools.cache
def parser() -> Lark:
    """The statement parser (built once; Earley, positions propagated for error locations)."""
    return Lark(GRAMMAR, parser="earley", lexer="dynamic", propagate_positions=True, ambiguity="resolve")
