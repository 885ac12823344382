//! The diesel schema shared by both backends. Written by hand to match
//! `migrations/{sqlite,postgres}`; every type here is one that diesel's
//! `MultiConnection` supports on both (integers, text, bool).

diesel::table! {
    projects (id) {
        id -> BigInt,
        name -> Text,
        created_at -> BigInt,
    }
}

diesel::table! {
    releases (id) {
        id -> BigInt,
        project_id -> BigInt,
        version -> Text,
        status -> Text,
        error -> Nullable<Text>,
        requested_by -> Nullable<Text>,
        risk_score -> BigInt,
        max_severity -> Text,
        created_at -> BigInt,
        updated_at -> BigInt,
        with_dependencies -> Bool,
        extras -> Text,
        dependencies_at -> Nullable<BigInt>,
        possible_typosquat_of -> Nullable<Text>,
        request_source -> Text,
    }
}

diesel::table! {
    files (id) {
        id -> BigInt,
        release_id -> BigInt,
        filename -> Text,
        sha256 -> Text,
        size -> BigInt,
        upstream_url -> Text,
        requires_python -> Nullable<Text>,
        yanked -> Nullable<Text>,
        upload_time -> Nullable<Text>,
        metadata_sha256 -> Nullable<Text>,
        dist_kind -> Text,
        inspected -> Bool,
        max_severity -> Text,
        core_metadata -> Nullable<Text>,
        created_at -> BigInt,
        capabilities -> Nullable<Text>,
        risk_score -> BigInt,
        entries -> Nullable<Text>,
        upstream_removed_at -> Nullable<BigInt>,
    }
}

diesel::table! {
    findings (id) {
        id -> BigInt,
        file_id -> BigInt,
        rule -> Text,
        severity -> Text,
        path -> Nullable<Text>,
        line -> Nullable<BigInt>,
        message -> Text,
        snippet -> Nullable<Text>,
    }
}

diesel::table! {
    users (id) {
        id -> BigInt,
        name -> Text,
        password_hash -> Text,
        role -> Text,
        created_at -> BigInt,
        disabled -> Bool,
    }
}

diesel::table! {
    sessions (token_hash) {
        token_hash -> Text,
        user_id -> BigInt,
        csrf_token -> Text,
        created_at -> BigInt,
        expires_at -> BigInt,
    }
}

diesel::table! {
    api_tokens (id) {
        id -> BigInt,
        user_id -> BigInt,
        label -> Text,
        token_hash -> Text,
        created_at -> BigInt,
        last_used_at -> Nullable<BigInt>,
        revoked_at -> Nullable<BigInt>,
    }
}

diesel::table! {
    decisions (id) {
        id -> BigInt,
        release_id -> BigInt,
        user_id -> BigInt,
        decision -> Text,
        comment -> Text,
        sha256s -> Text,
        created_at -> BigInt,
        in_force -> Bool,
        audit_base -> Nullable<Text>,
        audit_base_release_id -> Nullable<BigInt>,
        audit_lines -> Nullable<BigInt>,
        criteria -> Nullable<Text>,
        policy -> Nullable<Text>,
    }
}

diesel::table! {
    audit_events (id) {
        id -> BigInt,
        at -> BigInt,
        actor -> Nullable<Text>,
        action -> Text,
        target -> Text,
        detail -> Text,
    }
}

diesel::table! {
    jobs (id) {
        id -> BigInt,
        kind -> Text,
        payload -> Text,
        dedup_key -> Nullable<Text>,
        state -> Text,
        attempts -> BigInt,
        max_attempts -> BigInt,
        run_after -> BigInt,
        leased_by -> Nullable<Text>,
        lease_until -> Nullable<BigInt>,
        last_error -> Nullable<Text>,
        created_at -> BigInt,
        updated_at -> BigInt,
    }
}

diesel::table! {
    index_changes (id) {
        id -> BigInt,
        project -> Text,
        at -> BigInt,
    }
}

diesel::table! {
    release_yanks (release_id) {
        release_id -> BigInt,
        reason -> Text,
        yanked_by -> Text,
        at -> BigInt,
    }
}

diesel::table! {
    audit_sizes (release_id, base_release_id) {
        release_id -> BigInt,
        base_release_id -> BigInt,
        lines -> BigInt,
        files_added -> BigInt,
        files_removed -> BigInt,
        files_changed -> BigInt,
        computed_at -> BigInt,
        data_lines -> BigInt,
    }
}

diesel::table! {
    login_failures (id) {
        id -> BigInt,
        key -> Text,
        at -> BigInt,
    }
}

diesel::table! {
    index_misses (id) {
        id -> BigInt,
        project -> Text,
        client -> Text,
        outcome -> Text,
        at -> BigInt,
        requester -> Nullable<Text>,
    }
}

diesel::table! {
    upstream_absent (project) {
        project -> Text,
        checked_at -> BigInt,
    }
}

diesel::table! {
    imports (id) {
        id -> BigInt,
        format -> Text,
        source -> Text,
        requested_by -> Nullable<Text>,
        resolve_unpinned -> Bool,
        with_dependencies -> Bool,
        created_at -> BigInt,
    }
}

diesel::table! {
    import_lines (id) {
        id -> BigInt,
        import_id -> BigInt,
        position -> BigInt,
        source -> Text,
        line -> BigInt,
        text -> Text,
        project -> Nullable<Text>,
        version -> Nullable<Text>,
        specifier -> Nullable<Text>,
        extras -> Text,
        marker -> Nullable<Text>,
        hashes -> Text,
        state -> Text,
        reason -> Nullable<Text>,
        release_id -> Nullable<BigInt>,
        updated_at -> BigInt,
    }
}

diesel::table! {
    dependency_edges (id) {
        id -> BigInt,
        release_id -> BigInt,
        kind -> Text,
        requirement -> Text,
        project -> Text,
        targets -> Text,
        chosen_release_id -> Nullable<BigInt>,
        problem -> Nullable<Text>,
    }
}

diesel::table! {
    unmirrored_files (id) {
        id -> BigInt,
        release_id -> BigInt,
        filename -> Text,
        size -> Nullable<BigInt>,
        sha256 -> Nullable<Text>,
        upstream_url -> Text,
        requires_python -> Nullable<Text>,
        reason -> Text,
        requested_by -> Nullable<Text>,
        requested_at -> Nullable<BigInt>,
        error -> Nullable<Text>,
        created_at -> BigInt,
    }
}

diesel::table! {
    watches (project) {
        project -> Text,
        specifier -> Text,
        created_by -> Nullable<Text>,
        created_at -> BigInt,
        backfill -> BigInt,
        baseline -> Nullable<Text>,
        etag -> Nullable<Text>,
        last_modified -> Nullable<Text>,
        last_serial -> Nullable<Text>,
        last_checked_at -> Nullable<BigInt>,
        next_check_at -> BigInt,
        last_outcome -> Nullable<Text>,
        newest_upstream -> Nullable<Text>,
        upstream_versions -> Nullable<Text>,
        cooldown_version -> Nullable<Text>,
        cooldown_until -> Nullable<BigInt>,
    }
}

diesel::table! {
    finding_reviews (id) {
        id -> BigInt,
        project_id -> BigInt,
        release_id -> BigInt,
        rule -> Text,
        place -> Text,
        cited -> Text,
        verdict -> Text,
        comment -> Text,
        user_name -> Text,
        created_at -> BigInt,
    }
}

diesel::table! {
    suppressions (id) {
        id -> BigInt,
        project -> Text,
        rule -> Text,
        reason -> Text,
        created_by -> Text,
        created_at -> BigInt,
    }
}

diesel::table! {
    advisories (id) {
        id -> BigInt,
        osv_id -> Text,
        project -> Text,
        summary -> Text,
        severity -> Text,
        malicious -> Bool,
        affected -> Text,
        fixed -> Text,
        modified -> Nullable<Text>,
        source -> Text,
        imported_at -> BigInt,
    }
}

diesel::table! {
    advisory_matches (id) {
        id -> BigInt,
        osv_id -> Text,
        release_id -> BigInt,
        matched_at -> BigInt,
        action -> Text,
    }
}

diesel::table! {
    notifications (id) {
        id -> BigInt,
        event_id -> Text,
        kind -> Text,
        summary -> Text,
        payload -> Text,
        created_at -> BigInt,
    }
}

diesel::table! {
    webhook_deliveries (notification_id) {
        notification_id -> BigInt,
        state -> Text,
        attempts -> BigInt,
        next_attempt_at -> BigInt,
        last_error -> Nullable<Text>,
        last_attempt_at -> Nullable<BigInt>,
        delivered_at -> Nullable<BigInt>,
    }
}

diesel::table! {
    notification_reads (user_id) {
        user_id -> BigInt,
        last_read_id -> BigInt,
    }
}

diesel::joinable!(releases -> projects (project_id));
diesel::joinable!(unmirrored_files -> releases (release_id));
diesel::joinable!(import_lines -> imports (import_id));
diesel::joinable!(import_lines -> releases (release_id));
diesel::joinable!(release_yanks -> releases (release_id));
diesel::joinable!(files -> releases (release_id));
diesel::joinable!(findings -> files (file_id));
diesel::joinable!(finding_reviews -> releases (release_id));
diesel::joinable!(sessions -> users (user_id));
diesel::joinable!(api_tokens -> users (user_id));
diesel::joinable!(decisions -> releases (release_id));
diesel::joinable!(webhook_deliveries -> notifications (notification_id));
diesel::joinable!(advisory_matches -> releases (release_id));
diesel::joinable!(decisions -> users (user_id));

diesel::allow_tables_to_appear_in_same_query!(
    projects,
    releases,
    files,
    findings,
    users,
    sessions,
    api_tokens,
    decisions,
    audit_events,
    jobs,
    index_changes,
    release_yanks,
    audit_sizes,
    login_failures,
    index_misses,
    upstream_absent,
    imports,
    import_lines,
    dependency_edges,
    unmirrored_files,
    watches,
    finding_reviews,
    suppressions,
    advisories,
    advisory_matches,
    notifications,
    webhook_deliveries,
    notification_reads,
);
