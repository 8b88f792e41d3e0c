-- City Live's companion indexes for FerretDB 1.24 on PostgreSQL (docs/architecture.md §8).
--
-- FerretDB pushes an equality filter ({field: value}, {_id: value}) down to PostgreSQL as
--     _jsonb -> 'field' @> '"value"'
-- but the indexes it creates for MongoDB's createIndex (and for _id) are btree indexes on
-- (_jsonb -> 'field'), which cannot serve the @> operator: every equality query scanned its
-- whole table. This event trigger gives every single-field btree index a GIN
-- (jsonb_path_ops) twin on the same expression, which can. It runs inside PostgreSQL, so it covers every database and
-- collection FerretDB creates (tests' private databases too) without the application knowing
-- FerretDB's table names. plan_cache_mode = force_custom_plan makes PostgreSQL plan each
-- execution of FerretDB's prepared statements with the key known, so the index matches.
--
-- Idempotent: run it again after an upgrade. Needs a superuser (event triggers).

CREATE OR REPLACE FUNCTION citylive_gin_twins() RETURNS event_trigger
LANGUAGE plpgsql AS $$
DECLARE
    cmd record;
    idx record;
    expr text;
    twin text;
    k int;
BEGIN
    FOR cmd IN SELECT objid FROM pg_event_trigger_ddl_commands()
               WHERE command_tag = 'CREATE INDEX' AND object_type = 'index'
    LOOP
        SELECT i.indexrelid, i.indrelid, i.indnatts, c.relname AS name, n.nspname AS schema,
               am.amname
          INTO idx
          FROM pg_index i
          JOIN pg_class c ON c.oid = i.indexrelid
          JOIN pg_namespace n ON n.oid = c.relnamespace
          JOIN pg_am am ON am.oid = c.relam
         WHERE i.indexrelid = cmd.objid;
        -- single-field btree indexes only: FerretDB pushes down equality, never a range, so
        -- the second field of a compound index would never be looked up by equality alone
        CONTINUE WHEN idx IS NULL OR idx.amname <> 'btree' OR idx.indnatts <> 1;
        FOR k IN 1..idx.indnatts LOOP
            expr := pg_get_indexdef(idx.indexrelid, k, true);
            -- only top-level document fields: _jsonb -> 'field'
            CONTINUE WHEN expr !~ '^\(?_jsonb -> ''[^'']+''::text\)?$';
            twin := left(idx.name, 48) || '_gin' || k;
            EXECUTE format('CREATE INDEX IF NOT EXISTS %I ON %I.%I USING gin ((%s) jsonb_path_ops)',
                           twin, idx.schema, (SELECT relname FROM pg_class WHERE oid = idx.indrelid),
                           expr);
        END LOOP;
    END LOOP;
END;
$$;

DROP EVENT TRIGGER IF EXISTS citylive_gin_twins;
CREATE EVENT TRIGGER citylive_gin_twins ON ddl_command_end
    WHEN TAG IN ('CREATE INDEX')
    EXECUTE FUNCTION citylive_gin_twins();

-- Plan FerretDB's prepared statements per execution (see above), for this database only.
DO $$ BEGIN
    EXECUTE format('ALTER DATABASE %I SET plan_cache_mode = force_custom_plan', current_database());
END $$;
