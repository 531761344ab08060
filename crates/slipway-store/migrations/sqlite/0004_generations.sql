-- A conflict clause inside a trigger would give way to the statement's own (resources are
-- written by upserts), so the counter row is created only where it does not exist yet.
CREATE TABLE resource_generations (
    kind TEXT PRIMARY KEY,
    generation BIGINT NOT NULL
);
INSERT INTO resource_generations (kind, generation) SELECT kind, 1 FROM resources GROUP BY kind;
CREATE TRIGGER resources_generation_insert AFTER INSERT ON resources
BEGIN
    INSERT INTO resource_generations (kind, generation)
        SELECT NEW.kind, 0 WHERE NOT EXISTS (SELECT 1 FROM resource_generations WHERE kind = NEW.kind);
    UPDATE resource_generations SET generation = generation + 1 WHERE kind = NEW.kind;
END;
CREATE TRIGGER resources_generation_update AFTER UPDATE ON resources
BEGIN
    INSERT INTO resource_generations (kind, generation)
        SELECT NEW.kind, 0 WHERE NOT EXISTS (SELECT 1 FROM resource_generations WHERE kind = NEW.kind);
    UPDATE resource_generations SET generation = generation + 1 WHERE kind IN (OLD.kind, NEW.kind);
END;
CREATE TRIGGER resources_generation_delete AFTER DELETE ON resources
BEGIN
    UPDATE resource_generations SET generation = generation + 1 WHERE kind = OLD.kind;
END;
