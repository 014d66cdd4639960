// The development OpenID Provider's test accounts (op.mjs), and the scopes that release their
// claims. Each account is one case of the login tests (tests/interop_login.rs):
//   alice  everything, identity assurance level 3: the credential is issued
//   bob    identity assurance level 1 (acr loa:1): "assurance too low"
//   carol  no birthdate: "a required claim missing"
//   dave   a birthdate that is no date and a member number that is not six digits: "a claim not
//          fitting its attribute"

export const ACCOUNTS = {
  alice: {
    acr: 'urn:example:loa:3',
    claims: {
      given_name: 'Alice',
      family_name: 'Anderson',
      birthdate: '1990-04-01',
      address: { locality: 'Victoria', region: 'BC', country: 'CA' },
      email: 'alice@example.test',
      email_verified: true,
      identity_assurance_level: 3,
      member_number: '512345',
      member_status: 'practising',
    },
  },
  bob: {
    acr: 'urn:example:loa:1',
    claims: {
      given_name: 'Bob',
      family_name: 'Brown',
      birthdate: '1985-12-31',
      address: { locality: 'Kelowna', region: 'BC', country: 'CA' },
      identity_assurance_level: 1,
      member_number: '498765',
      member_status: 'non-practising',
    },
  },
  carol: {
    acr: 'urn:example:loa:3',
    claims: {
      given_name: 'Carol',
      family_name: 'Chen',
      address: { locality: 'Nanaimo', region: 'BC', country: 'CA' },
      identity_assurance_level: 3,
      member_number: '534567',
      member_status: 'retired',
    },
  },
  dave: {
    acr: 'urn:example:loa:3',
    claims: {
      given_name: 'Dave',
      family_name: 'Dubois',
      birthdate: '1990-13-45',
      address: { locality: 'Prince George', region: 'BC', country: 'CA' },
      identity_assurance_level: 3,
      member_number: 'LS-2024-0042',
      member_status: 'practising',
    },
  },
}

/// Which scope releases which claims (oidc-provider's `claims`); `identity_assurance` and `member`
/// are custom, as a province's or a law society's provider would have them.
export const CLAIMS_BY_SCOPE = {
  openid: ['sub'],
  profile: ['given_name', 'family_name', 'birthdate'],
  address: ['address'],
  email: ['email', 'email_verified'],
  identity_assurance: ['identity_assurance_level'],
  member: ['member_number', 'member_status'],
}
