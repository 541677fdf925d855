UPDATE members SET status='active' WHERE external_id='E002';
