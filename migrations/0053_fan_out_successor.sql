-- 0053_fan_out_successor: a fan_out job's successor (lib/fanout.c: after
-- FANOUT_SLICE_MS of draining while posts remain) takes the head of the
-- queue instead of its tail.
--
-- Each notification the drain writes for a verified follower queues its
-- mail (notifications_mail, one 'mail' job each), and jobs are claimed
-- oldest run_at first. A successor queued at now() therefore waited behind
-- every mail its own slice had queued: about 2,000 a second of draining,
-- sent at about 120 a second here. The drain went at the speed of the
-- mail (scale 10, bench/run: 22,000 notifications in 186 s, 3 of 5 posts
-- left), and a follower's notification on the page came after the mails of
-- the followers before it. Due before every queued job, the successor is
-- the next job claimed; a slice is bounded work (a second), so the mail is
-- delayed by that much, not starved: the other workers keep sending.
-- Not queued when a fan_out job is waiting already (as before).
CREATE FUNCTION fan_out_successor() RETURNS bigint LANGUAGE sql AS $$
    SELECT job_enqueue('fan_out', '{}'::jsonb,
                       least(now(), (SELECT min(q.run_at) FROM jobs q WHERE q.state = 'queued')
                                    - interval '1 microsecond'))
     WHERE NOT EXISTS (SELECT 1 FROM jobs j WHERE j.kind = 'fan_out' AND j.state = 'queued')
$$;
