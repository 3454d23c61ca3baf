//! The mails' texts: the product name, what happened, and a plain link.

use super::Mail;

fn html_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

fn mail(to: &str, subject: &str, intro: &str, action: &str, link: &str, outro: &str) -> Mail {
    let text = format!("{intro}\n\n{action}:\n{link}\n\n{outro}\n\n— Portcullis\n");
    let html = format!(
        "<!doctype html><html><body style=\"font-family:system-ui,sans-serif;color:#1d2330\">\
         <p><strong>Portcullis</strong></p><p>{}</p><p><a href=\"{}\">{}</a></p>\
         <p style=\"color:#5b6475\">Or paste this link into your browser:<br>{}</p><p>{}</p></body></html>",
        html_escape(intro),
        html_escape(link),
        html_escape(action),
        html_escape(link),
        html_escape(outro)
    );
    Mail {
        to: to.to_string(),
        subject: subject.to_string(),
        text,
        html,
    }
}

pub fn verify_email(to: &str, link: &str) -> Mail {
    mail(
        to,
        "Confirm your email address",
        "Confirm that this address is yours. The link works once, for 24 hours.",
        "Confirm your email",
        link,
        "If you did not create an account, ignore this mail.",
    )
}

pub fn sso_domain_proof(to: &str, domain: &str, organisation: &str, link: &str) -> Mail {
    mail(
        to,
        &format!("Confirm single sign-on for {domain}"),
        &format!(
            "{organisation} asks that everyone with an address at {domain} sign in through its single sign-on. Confirm only if you administer {domain}. The link works once, for 24 hours."
        ),
        "Review the request",
        link,
        "If you do not know this organisation, ignore this mail: nothing changes without confirmation.",
    )
}

pub fn identity_linked(to: &str, provider: &str, link: &str) -> Mail {
    mail(
        to,
        &format!("{provider} can now sign in to your account"),
        &format!(
            "Someone signed in with a {provider} account that has this address, so it was connected to your account and can sign in to it."
        ),
        "Review your connected accounts",
        link,
        &format!("If this was not you, disconnect {provider} there and change your password."),
    )
}

pub fn identity_moved(to: &str, provider: &str, link: &str) -> Mail {
    mail(
        to,
        &format!("{provider} no longer signs in to your account"),
        &format!(
            "Someone who signed in with your connected {provider} account moved it to another account here. It no longer signs in to yours."
        ),
        "Review your connected accounts",
        link,
        &format!(
            "If this was not you, secure your {provider} account and sign in here another way."
        ),
    )
}

pub fn reset_password(to: &str, link: &str) -> Mail {
    mail(
        to,
        "Reset your password",
        "Someone asked to reset the password of your account. The link works once, for one hour.",
        "Choose a new password",
        link,
        "If it was not you, ignore this mail: your password stays as it is.",
    )
}

pub fn magic_link(to: &str, link: &str) -> Mail {
    mail(
        to,
        "Your sign-in link",
        "Use this link to sign in. It works once, for 15 minutes.",
        "Sign in",
        link,
        "If you did not ask for it, ignore this mail.",
    )
}

/// Someone tried to create an account (or move one) to an address that has
/// an account here. Its owner hears of it; the person trying learns nothing.
pub fn sign_up_attempt(to: &str, sign_in_link: &str) -> Mail {
    mail(
        to,
        "Someone tried to sign up with your address",
        "Someone tried to use this address for a new Portcullis account, but it already has one. \
         If it was you, sign in, or reset your password if you forgot it.",
        "Sign in",
        sign_in_link,
        "If it was not you, ignore this mail: nothing changed on your account.",
    )
}

pub fn email_code(to: &str, code: &str) -> Mail {
    Mail {
        to: to.to_string(),
        subject: "Your verification code".into(),
        text: format!(
            "Your Portcullis verification code is {code}.\n\nIt works for 10 minutes. If you did not ask for it, ignore this mail.\n"
        ),
        html: format!(
            "<!doctype html><html><body style=\"font-family:system-ui,sans-serif\"><p><strong>Portcullis</strong></p>\
             <p>Your verification code is <strong>{code}</strong>.</p><p>It works for 10 minutes.</p></body></html>"
        ),
    }
}
