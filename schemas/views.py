"""Ready-made views over the lake tables, in DuckDB SQL: `newsmill query` creates them, and
`newsmill catalog` writes them into the catalog BI tools open."""

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
    "latest_articles": (
        "The latest version of every source: articles no later article supersedes.",
        """
        select * from articles
        where doc_id not in (select supersedes from articles where supersedes is not null)
        """,
    ),
    "clusters": (
        "Syndication and copies: one row per kept article that has document duplicates, with "
        "its title and site, the cluster's size (itself included), its members, the methods "
        "that found them and the lowest similarity of a near copy.",
        """
        select d.cluster_id, a.title, a.site, a.published_at,
               count(*) + 1 as size,
               list(d.doc_id order by d.doc_id) as members,
               list(distinct d.method order by d.method) as methods,
               min(d.similarity) filter (where d.method = 'near') as min_near_similarity
        from duplicates d join articles a on a.doc_id = d.cluster_id
        where d.level = 'document'
        group by d.cluster_id, a.title, a.site, a.published_at
        """,
    ),
    "entity_mentions_daily": (
        "Mentions of each person, organisation and place per day (publication date, else "
        "ingest date), and in how many articles.",
        """
        select cast(coalesce(a.published_at, a.ingested_at) as date) as day,
               e.canonical, e.label, count(*) as mentions, count(distinct e.doc_id) as articles
        from entities e join articles a using (doc_id)
        group by all
        """,
    ),
    "quotes_by_speaker": (
        "Direct quotes per speaker (canonical name): how many, in how many articles, the "
        "first and last publication day, and one quote as an example.",
        """
        select q.speaker, count(*) as quotes, count(distinct q.doc_id) as articles,
               min(cast(a.published_at as date)) as first_day,
               max(cast(a.published_at as date)) as last_day,
               min(q.quote) as example
        from quotes q join articles a using (doc_id)
        where q.speaker is not null
        group by q.speaker
        """,
    ),
    "rejects_by_reason": (
        "Rejects per stage and reason, with one source and detail as an example.",
        """
        select stage, reason, count(*) as rejects,
               min(source) as example_source, arg_min(detail, source) as example_detail
        from rejects
        group by stage, reason
        """,
    ),
}
