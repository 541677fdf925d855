UPDATE members SET role='Tech' WHERE external_id='E001';
UPDATE members SET permission_level='Global Admin' WHERE external_id='E002';
UPDATE members SET label='Chemist' WHERE external_id='E101';
UPDATE members SET speciality='Dermatology', given_name='Gustav' WHERE external_id='E102';
