-- name: ProfileGet :one
SELECT user_id, version, date_of_birth, gender, domicile_province, domicile_district, education, experience,
       skills, resume_text, phone_enc, created_at, updated_at
FROM applications.profiles
WHERE user_id = @user_id;

-- name: ProfileGetForUpdate :one
SELECT user_id, version, date_of_birth, gender, domicile_province, domicile_district, education, experience,
       skills, resume_text, phone_enc, created_at, updated_at
FROM applications.profiles
WHERE user_id = @user_id
FOR UPDATE;

-- name: ProfileInsert :one
-- ON CONFLICT DO NOTHING: two first PUTs racing both reach here; the loser
-- gets no row and retries as an update.
INSERT INTO applications.profiles (user_id, date_of_birth, gender, domicile_province, domicile_district,
                                   education, experience, skills, resume_text, phone_enc, created_at, updated_at)
VALUES (@user_id, sqlc.narg('date_of_birth'), sqlc.narg('gender'), sqlc.narg('domicile_province'),
        sqlc.narg('domicile_district'), @education, @experience, @skills, @resume_text, sqlc.narg('phone_enc'), @now, @now)
ON CONFLICT (user_id) DO NOTHING
RETURNING user_id, version, date_of_birth, gender, domicile_province, domicile_district, education, experience,
          skills, resume_text, phone_enc, created_at, updated_at;

-- name: ProfileUpdate :one
UPDATE applications.profiles
SET date_of_birth = sqlc.narg('date_of_birth'), gender = sqlc.narg('gender'),
    domicile_province = sqlc.narg('domicile_province'), domicile_district = sqlc.narg('domicile_district'),
    education = @education, experience = @experience, skills = @skills, resume_text = @resume_text,
    phone_enc = sqlc.narg('phone_enc'), version = version + 1, updated_at = @now
WHERE user_id = @user_id AND version = @version
RETURNING user_id, version, date_of_birth, gender, domicile_province, domicile_district, education, experience,
          skills, resume_text, phone_enc, created_at, updated_at;
