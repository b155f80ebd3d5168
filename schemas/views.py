"""Ready-made views over the lake tables, in DuckDB SQL; `newsmill query` creates them."""

# Paragraphs shared by more than this many articles are boilerplate, not syndication, and
# would make the self-join quadratic.
MAX_SHARING_ARTICLES = 100

VIEWS: dict[str, tuple[str, str]] = {
    "shared_paragraphs": (
        "Wire copy detection: pairs of kept articles that share paragraphs, how many, and "
        f"which (positions in `doc_id`). Paragraphs found in more than {MAX_SHARING_ARTICLES} "
        "articles are left out as boilerplate.",
        f"""
        with shared as (
            select paragraph_hash from paragraphs group by paragraph_hash
            having count(distinct doc_id) between 2 and {MAX_SHARING_ARTICLES}
        )
        select a.doc_id, b.doc_id as shares_with, count(*) as n_shared,
               list(a.position order by a.position) as positions,
               list(a.paragraph_hash order by a.position) as paragraph_hashes
        from paragraphs a
        join shared using (paragraph_hash)
        join paragraphs b using (paragraph_hash)
        where a.doc_id <> b.doc_id
        group by a.doc_id, b.doc_id
        """,
    ),
}
