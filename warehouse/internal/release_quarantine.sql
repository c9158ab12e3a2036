-- After a replay: delete the quarantine rows of the replayed pages whose row is now loaded.
-- (_replayed is registered by the caller: the content hashes that went through the stages again.)
-- params: run_id= table_name=
DELETE FROM quarantine
WHERE content_hash IN (SELECT content_hash FROM _replayed)
  AND run_id <> $run_id
  AND ($table_name = '' OR table_name = $table_name)
  AND CASE table_name
          WHEN 'articles' THEN row_key IN (SELECT article_id FROM articles)
          WHEN 'entities' THEN row_key IN (SELECT entity_id FROM entities)
          WHEN 'events' THEN row_key IN (SELECT event_id FROM events)
          WHEN 'mentions' THEN row_key IN (SELECT article_id || ':' || start_char FROM mentions)
          ELSE false
      END
RETURNING table_name, row_key;
