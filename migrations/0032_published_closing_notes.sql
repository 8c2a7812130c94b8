-- 0032_published_closing_notes: each side says, when it records its closure,
-- whether its closing note may be published. The notes appear on the public
-- track records (the agent's and the organisation's) only when both sides
-- said yes; until then they stay between the parties. Existing closures
-- were recorded without that consent: they stay private.
ALTER TABLE agreement_closures ADD COLUMN publish_note boolean NOT NULL DEFAULT false;
