CREATE TABLE resource_generations (
    kind TEXT PRIMARY KEY,
    generation BIGINT NOT NULL
);
INSERT INTO resource_generations (kind, generation) SELECT kind, 1 FROM resources GROUP BY kind;
CREATE FUNCTION slipway_bump_resource_generation() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP <> 'INSERT' THEN
        UPDATE resource_generations SET generation = generation + 1 WHERE kind = OLD.kind;
    END IF;
    IF TG_OP <> 'DELETE' THEN
        INSERT INTO resource_generations (kind, generation) VALUES (NEW.kind, 1)
        ON CONFLICT (kind) DO UPDATE SET generation = resource_generations.generation + 1;
    END IF;
    RETURN NULL;
END
$$;
CREATE TRIGGER resources_generation AFTER INSERT OR UPDATE OR DELETE ON resources
FOR EACH ROW EXECUTE FUNCTION slipway_bump_resource_generation();
