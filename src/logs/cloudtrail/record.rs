//! A CloudTrail record as the mapping reads it ([`Record`]): only the documented fields the
//! mapping uses, read straight from the record's JSON text (or from a
//! [`serde_json::Value`]) without building a tree of the rest.
//!
//! Reading is as lenient as the mapping needs and no more: a field the mapping reads keeps
//! what JSON type it had ([`Text::Other`], [`Obj::Other`]), so that a wrong type is reported
//! when (and only when) the mapping reads that field, exactly as for a record read as a
//! `Value`. Every other field is skipped without being stored. Two differences from a
//! `Value`: a record whose object repeats one of the fields read is an error (a `Value`
//! keeps the last one silently), and a record that is not a JSON object is an error.
//!
//! Cost: one pass over the record's text; strings without escapes are borrowed, so a
//! record costs no allocation beyond the few fields with escapes and the `resources` list.

use std::borrow::Cow;
use std::fmt;
use std::marker::PhantomData;

use serde::de::value::MapAccessDeserializer;
use serde::de::{
    self, Deserialize, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor,
};

/// A field that holds another JSON type than the one the records hold there.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WrongType;

/// A field read where the records hold a string.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum Text<'a> {
    /// Absent, or `null`.
    #[default]
    Absent,
    /// A string, borrowed from the record's text when it holds no escapes.
    Str(Cow<'a, str>),
    /// Another JSON type (a number, a boolean, an array or an object), skipped.
    Other,
}

impl Text<'_> {
    /// The string, if the field is one (any other type reads as absent).
    pub fn get(&self) -> Option<&str> {
        match self {
            Text::Str(s) => Some(s),
            _ => None,
        }
    }

    /// Absent (or `null`) is `None`, a string is `Some`, another type is `Err`.
    pub fn strict(&self) -> Result<Option<&str>, WrongType> {
        match self {
            Text::Absent => Ok(None),
            Text::Str(s) => Ok(Some(s)),
            Text::Other => Err(WrongType),
        }
    }

    /// Present and not `null`, whatever its type.
    pub fn is_present(&self) -> bool {
        !matches!(self, Text::Absent)
    }
}

/// A field read where the records hold an object.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum Obj<T> {
    /// Absent, or `null`.
    #[default]
    Absent,
    /// An object, read as `T`.
    Is(T),
    /// Another JSON type, skipped.
    Other,
}

impl<T> Obj<T> {
    /// The object, if the field is one.
    pub fn get(&self) -> Option<&T> {
        match self {
            Obj::Is(t) => Some(t),
            _ => None,
        }
    }
}

/// A field read where the records hold an array.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum Items<T> {
    /// Absent, or `null`.
    #[default]
    Absent,
    /// An array, each item read as `T`.
    Is(Vec<T>),
    /// Another JSON type, skipped.
    Other,
}

/// `delete.Object` of `DeleteObjects`: one object or an array of them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum OneOrMany<T> {
    /// Absent, `null`, or another JSON type.
    #[default]
    Neither,
    /// One object.
    One(T),
    /// An array; an item that is not an object reads as [`Obj::Other`].
    Many(Vec<Obj<T>>),
}

/// `omitted`, CloudTrail's mark of a truncated field ("CloudTrail record contents":
/// CloudTrail truncates a field whose contents exceed the field's maximum size, and then
/// `omitted` is present with the value `true`). Absent, `null` and `false` are no mark;
/// `true`, and any other value (not of the documented type), is one.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Omitted(pub bool);

/// Skip the rest of a sequence.
fn drain_seq<'de, A: SeqAccess<'de>>(mut seq: A) -> Result<(), A::Error> {
    while seq.next_element::<IgnoredAny>()?.is_some() {}
    Ok(())
}

/// Skip the rest of a map.
fn drain_map<'de, A: MapAccess<'de>>(mut map: A) -> Result<(), A::Error> {
    while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
    Ok(())
}

/// Every item of a sequence.
fn collect_seq<'de, A: SeqAccess<'de>, T: Deserialize<'de>>(
    mut seq: A,
) -> Result<Vec<T>, A::Error> {
    let mut items = Vec::new();
    while let Some(item) = seq.next_element()? {
        items.push(item);
    }
    Ok(items)
}

/// The visitor methods of the scalar types, each giving `$other`.
macro_rules! scalars_are {
    ($other:expr) => {
        fn visit_bool<E: de::Error>(self, _: bool) -> Result<Self::Value, E> {
            Ok($other)
        }
        fn visit_i64<E: de::Error>(self, _: i64) -> Result<Self::Value, E> {
            Ok($other)
        }
        fn visit_u64<E: de::Error>(self, _: u64) -> Result<Self::Value, E> {
            Ok($other)
        }
        fn visit_f64<E: de::Error>(self, _: f64) -> Result<Self::Value, E> {
            Ok($other)
        }
    };
}

/// The visitor methods of `null`, each giving `$absent`.
macro_rules! nulls_are {
    ($absent:expr) => {
        fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok($absent)
        }
        fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok($absent)
        }
    };
}

impl<'de: 'a, 'a> Deserialize<'de> for Text<'a> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct V<'a>(PhantomData<&'a ()>);
        impl<'de: 'a, 'a> Visitor<'de> for V<'a> {
            type Value = Text<'a>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("any JSON value")
            }
            scalars_are!(Text::Other);
            nulls_are!(Text::Absent);
            fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
                Text::deserialize(d)
            }
            fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
                Ok(Text::Str(Cow::Borrowed(v)))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
                Ok(Text::Str(Cow::Owned(v.to_string())))
            }
            fn visit_string<E: de::Error>(self, v: String) -> Result<Self::Value, E> {
                Ok(Text::Str(Cow::Owned(v)))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Self::Value, A::Error> {
                drain_seq(seq).map(|()| Text::Other)
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
                drain_map(map).map(|()| Text::Other)
            }
        }
        deserializer.deserialize_any(V(PhantomData))
    }
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Obj<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct V<T>(PhantomData<T>);
        impl<'de, T: Deserialize<'de>> Visitor<'de> for V<T> {
            type Value = Obj<T>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("any JSON value")
            }
            scalars_are!(Obj::Other);
            nulls_are!(Obj::Absent);
            fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
                Obj::deserialize(d)
            }
            fn visit_str<E: de::Error>(self, _: &str) -> Result<Self::Value, E> {
                Ok(Obj::Other)
            }
            fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Self::Value, A::Error> {
                drain_seq(seq).map(|()| Obj::Other)
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
                T::deserialize(MapAccessDeserializer::new(map)).map(Obj::Is)
            }
        }
        deserializer.deserialize_any(V(PhantomData))
    }
}

impl<'de> Deserialize<'de> for Omitted {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Omitted;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("any JSON value")
            }
            fn visit_bool<E: de::Error>(self, v: bool) -> Result<Self::Value, E> {
                Ok(Omitted(v))
            }
            fn visit_i64<E: de::Error>(self, _: i64) -> Result<Self::Value, E> {
                Ok(Omitted(true))
            }
            fn visit_u64<E: de::Error>(self, _: u64) -> Result<Self::Value, E> {
                Ok(Omitted(true))
            }
            fn visit_f64<E: de::Error>(self, _: f64) -> Result<Self::Value, E> {
                Ok(Omitted(true))
            }
            nulls_are!(Omitted(false));
            fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
                Omitted::deserialize(d)
            }
            fn visit_str<E: de::Error>(self, _: &str) -> Result<Self::Value, E> {
                Ok(Omitted(true))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Self::Value, A::Error> {
                drain_seq(seq).map(|()| Omitted(true))
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
                drain_map(map).map(|()| Omitted(true))
            }
        }
        deserializer.deserialize_any(V)
    }
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Items<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct V<T>(PhantomData<T>);
        impl<'de, T: Deserialize<'de>> Visitor<'de> for V<T> {
            type Value = Items<T>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("any JSON value")
            }
            scalars_are!(Items::Other);
            nulls_are!(Items::Absent);
            fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
                Items::deserialize(d)
            }
            fn visit_str<E: de::Error>(self, _: &str) -> Result<Self::Value, E> {
                Ok(Items::Other)
            }
            fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Self::Value, A::Error> {
                collect_seq(seq).map(Items::Is)
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
                drain_map(map).map(|()| Items::Other)
            }
        }
        deserializer.deserialize_any(V(PhantomData))
    }
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for OneOrMany<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct V<T>(PhantomData<T>);
        impl<'de, T: Deserialize<'de>> Visitor<'de> for V<T> {
            type Value = OneOrMany<T>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("any JSON value")
            }
            scalars_are!(OneOrMany::Neither);
            nulls_are!(OneOrMany::Neither);
            fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
                OneOrMany::deserialize(d)
            }
            fn visit_str<E: de::Error>(self, _: &str) -> Result<Self::Value, E> {
                Ok(OneOrMany::Neither)
            }
            fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Self::Value, A::Error> {
                collect_seq(seq).map(OneOrMany::Many)
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
                T::deserialize(MapAccessDeserializer::new(map)).map(OneOrMany::One)
            }
        }
        deserializer.deserialize_any(V(PhantomData))
    }
}

/// The fields of a record the mapping reads ("CloudTrail record contents").
///
/// Read it with [`Record::parse`] or [`Record::from_value`] (or a deserializer that gives
/// a map): those refuse anything but a JSON object, where serde's derived reading would
/// also fill the fields from an array, by position.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Deserialize)]
#[serde(default)]
pub struct Record<'a> {
    /// `eventSource`, e.g. `s3.amazonaws.com`.
    #[serde(borrow, rename = "eventSource")]
    pub event_source: Text<'a>,
    /// `eventName`: the API operation.
    #[serde(borrow, rename = "eventName")]
    pub event_name: Text<'a>,
    /// `eventTime`.
    #[serde(borrow, rename = "eventTime")]
    pub event_time: Text<'a>,
    /// `eventID`.
    #[serde(borrow, rename = "eventID")]
    pub event_id: Text<'a>,
    /// `sourceIPAddress`: an address, or a service's name.
    #[serde(borrow, rename = "sourceIPAddress")]
    pub source_ip_address: Text<'a>,
    /// `userAgent`.
    #[serde(borrow, rename = "userAgent")]
    pub user_agent: Text<'a>,
    /// `awsRegion`.
    #[serde(borrow, rename = "awsRegion")]
    pub aws_region: Text<'a>,
    /// `errorCode`: present when the call failed.
    #[serde(borrow, rename = "errorCode")]
    pub error_code: Text<'a>,
    /// `vpcEndpointId`: the VPC endpoint the request came through, when it did
    /// (`AWS Internal` or a service's name for a call AWS made from its own VPC).
    #[serde(borrow, rename = "vpcEndpointId")]
    pub vpc_endpoint_id: Text<'a>,
    /// `vpcEndpointAccountId`: the account that owns that endpoint.
    #[serde(borrow, rename = "vpcEndpointAccountId")]
    pub vpc_endpoint_account_id: Text<'a>,
    /// `tlsDetails`.
    #[serde(borrow, rename = "tlsDetails")]
    pub tls_details: Obj<TlsDetails<'a>>,
    /// `userIdentity`.
    #[serde(borrow, rename = "userIdentity")]
    pub user_identity: Obj<UserIdentity<'a>>,
    /// `requestParameters`.
    #[serde(borrow, rename = "requestParameters")]
    pub request_parameters: Obj<RequestParameters<'a>>,
    /// `responseElements`.
    #[serde(borrow, rename = "responseElements")]
    pub response_elements: Obj<ResponseElements<'a>>,
    /// `resources`.
    #[serde(borrow)]
    pub resources: Items<Obj<Resource<'a>>>,
    /// `omitted`: a field of the record was truncated.
    pub omitted: Omitted,
}

impl Record<'_> {
    /// Whether CloudTrail marked a field of the parts the mapping reads as truncated
    /// ([`Omitted`]): on the record, or in `requestParameters` (and its `delete`) or
    /// `responseElements`.
    pub fn truncated(&self) -> bool {
        let params = self.request_parameters.get();
        self.omitted.0
            || params.is_some_and(|p| p.omitted.0 || p.delete.get().is_some_and(|d| d.omitted.0))
            || self.response_elements.get().is_some_and(|r| r.omitted.0)
    }
}

/// `tlsDetails`.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Deserialize)]
#[serde(default)]
pub struct TlsDetails<'a> {
    /// `tlsVersion`, e.g. `TLSv1.2`.
    #[serde(borrow, rename = "tlsVersion")]
    pub tls_version: Text<'a>,
}

/// `userIdentity` ("CloudTrail userIdentity element").
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Deserialize)]
#[serde(default)]
pub struct UserIdentity<'a> {
    /// `type`: `IAMUser`, `AssumedRole`, `Root`, `WebIdentityUser`, ...
    #[serde(borrow, rename = "type")]
    pub kind: Text<'a>,
    /// `arn`.
    #[serde(borrow)]
    pub arn: Text<'a>,
    /// `accountId`.
    #[serde(borrow, rename = "accountId")]
    pub account_id: Text<'a>,
    /// `accessKeyId`: the key the request was signed with.
    #[serde(borrow, rename = "accessKeyId")]
    pub access_key_id: Text<'a>,
    /// `identityProvider` (of a `WebIdentityUser`).
    #[serde(borrow, rename = "identityProvider")]
    pub identity_provider: Text<'a>,
    /// `sessionContext`.
    #[serde(borrow, rename = "sessionContext")]
    pub session_context: Obj<SessionContext<'a>>,
}

/// `userIdentity.sessionContext`.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Deserialize)]
#[serde(default)]
pub struct SessionContext<'a> {
    /// `sessionIssuer`: the role of a role session.
    #[serde(borrow, rename = "sessionIssuer")]
    pub session_issuer: Obj<Arn<'a>>,
    /// `webIdFederationData`.
    #[serde(borrow, rename = "webIdFederationData")]
    pub web_id_federation_data: Obj<WebIdFederationData<'a>>,
}

/// An object of which the mapping reads the `arn`.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Deserialize)]
#[serde(default)]
pub struct Arn<'a> {
    /// `arn`.
    #[serde(borrow)]
    pub arn: Text<'a>,
}

/// `sessionContext.webIdFederationData`.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Deserialize)]
#[serde(default)]
pub struct WebIdFederationData<'a> {
    /// `federatedProvider`.
    #[serde(borrow, rename = "federatedProvider")]
    pub federated_provider: Text<'a>,
}

/// `requestParameters`: the fields S3 data events and `AssumeRoleWithWebIdentity` use.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Deserialize)]
#[serde(default)]
pub struct RequestParameters<'a> {
    /// `bucketName`.
    #[serde(borrow, rename = "bucketName")]
    pub bucket_name: Text<'a>,
    /// `key`.
    #[serde(borrow)]
    pub key: Text<'a>,
    /// `prefix` (of a listing).
    #[serde(borrow)]
    pub prefix: Text<'a>,
    /// `delimiter` (of a listing).
    #[serde(borrow)]
    pub delimiter: Text<'a>,
    /// `versionId`.
    #[serde(borrow, rename = "versionId")]
    pub version_id: Text<'a>,
    /// `x-amz-copy-source` (of `CopyObject`).
    #[serde(borrow, rename = "x-amz-copy-source")]
    pub copy_source: Text<'a>,
    /// `delete` (of `DeleteObjects`).
    #[serde(borrow)]
    pub delete: Obj<Delete<'a>>,
    /// `roleArn` (of `AssumeRoleWithWebIdentity`).
    #[serde(borrow, rename = "roleArn")]
    pub role_arn: Text<'a>,
    /// `omitted`: the parameters were truncated.
    pub omitted: Omitted,
}

/// `requestParameters.delete`.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Deserialize)]
#[serde(default)]
pub struct Delete<'a> {
    /// `Object`: the deleted keys.
    #[serde(borrow, rename = "Object")]
    pub object: OneOrMany<DeletedObject<'a>>,
    /// `omitted`: the list was truncated.
    pub omitted: Omitted,
}

/// One entry of `requestParameters.delete.Object`.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Deserialize)]
#[serde(default)]
pub struct DeletedObject<'a> {
    /// `Key`.
    #[serde(borrow, rename = "Key")]
    pub key: Text<'a>,
}

/// `responseElements` of `AssumeRoleWithWebIdentity`.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Deserialize)]
#[serde(default)]
pub struct ResponseElements<'a> {
    /// `provider`.
    #[serde(borrow)]
    pub provider: Text<'a>,
    /// `subjectFromWebIdentityToken`: the Cognito identity id.
    #[serde(borrow, rename = "subjectFromWebIdentityToken")]
    pub subject_from_web_identity_token: Text<'a>,
    /// `audience`: the identity pool.
    #[serde(borrow)]
    pub audience: Text<'a>,
    /// `credentials`.
    #[serde(borrow)]
    pub credentials: Obj<Credentials<'a>>,
    /// `omitted`: the response was truncated.
    pub omitted: Omitted,
}

/// `responseElements.credentials`.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Deserialize)]
#[serde(default)]
pub struct Credentials<'a> {
    /// `accessKeyId`: the key issued.
    #[serde(borrow, rename = "accessKeyId")]
    pub access_key_id: Text<'a>,
}

/// One entry of `resources`.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Deserialize)]
#[serde(default)]
pub struct Resource<'a> {
    /// `type`, e.g. `AWS::S3::Object`.
    #[serde(borrow, rename = "type")]
    pub kind: Text<'a>,
    /// `ARN`.
    #[serde(borrow, rename = "ARN")]
    pub arn: Text<'a>,
    /// `ARNPrefix`: the objects a listing (or a multi-object request) reached, by prefix.
    #[serde(borrow, rename = "ARNPrefix")]
    pub arn_prefix: Text<'a>,
}

/// The strings of every member named `accessKeyId` in a JSON text, at any depth, each of
/// a repeated member too (a parsed `Value` keeps only the last); `None` for text that is
/// not JSON.
pub fn access_key_ids(text: &str) -> Option<Vec<String>> {
    let mut keys = Vec::new();
    let mut json = serde_json::Deserializer::from_str(text);
    KeyScan(&mut keys).deserialize(&mut json).ok()?;
    json.end().ok()?;
    Some(keys)
}

/// Collects the strings of the members named `accessKeyId` it visits.
struct KeyScan<'k>(&'k mut Vec<String>);

impl<'de> DeserializeSeed<'de> for KeyScan<'_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for KeyScan<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }
    scalars_are!(());
    nulls_are!(());
    fn visit_str<E: de::Error>(self, _: &str) -> Result<(), E> {
        Ok(())
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        while seq.next_element_seed(KeyScan(&mut *self.0))?.is_some() {}
        Ok(())
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        while let Some(key) = map.next_key::<Cow<'de, str>>()? {
            if key == "accessKeyId" {
                if let Text::Str(k) = map.next_value::<Text<'de>>()? {
                    self.0.push(k.into_owned());
                }
            } else {
                map.next_value_seed(KeyScan(&mut *self.0))?;
            }
        }
        Ok(())
    }
}

impl<'a> Record<'a> {
    /// Read a record from its JSON text. Text that is not JSON is a syntax error
    /// ([`serde_json::Error::is_syntax`], with its line and column); JSON that is not an
    /// object, or an object that repeats a field the mapping reads, is a data error
    /// ([`serde_json::Error::is_data`]).
    pub fn parse(json: &'a str) -> Result<Record<'a>, serde_json::Error> {
        if !json
            .trim_start_matches([' ', '\t', '\n', '\r'])
            .starts_with('{')
        {
            // Not an object: whether it is JSON at all decides the kind of error.
            serde_json::from_str::<IgnoredAny>(json)?;
            return Err(de::Error::custom("a record is not a JSON object"));
        }
        serde_json::from_str(json)
    }

    /// Read a record from a parsed JSON value (strings are borrowed from it).
    pub fn from_value(value: &'a serde_json::Value) -> Result<Record<'a>, serde_json::Error> {
        if !value.is_object() {
            return Err(de::Error::custom("a record is not a JSON object"));
        }
        Record::deserialize(value)
    }
}

/// A copy of a read value that borrows nothing: it outlives the text it was read from
/// (a reader keeps such a record aside while the file's text is reused). Every string is
/// copied; nothing else changes, so the copy maps exactly as the original does.
pub trait Detach {
    /// The value with owned strings.
    type Detached: 'static;

    /// Copy `self`, strings and all.
    fn detach(&self) -> Self::Detached;

    /// About how many bytes the copy holds (strings and the values around them), to keep
    /// copies within a budget.
    fn weight(&self) -> usize;
}

impl Detach for Text<'_> {
    type Detached = Text<'static>;

    fn detach(&self) -> Text<'static> {
        match self {
            Text::Absent => Text::Absent,
            Text::Str(s) => Text::Str(Cow::Owned(s.to_string())),
            Text::Other => Text::Other,
        }
    }

    fn weight(&self) -> usize {
        std::mem::size_of::<Self>() + self.get().map_or(0, str::len)
    }
}

impl<T: Detach> Detach for Obj<T> {
    type Detached = Obj<T::Detached>;

    fn detach(&self) -> Obj<T::Detached> {
        match self {
            Obj::Absent => Obj::Absent,
            Obj::Is(t) => Obj::Is(t.detach()),
            Obj::Other => Obj::Other,
        }
    }

    fn weight(&self) -> usize {
        std::mem::size_of::<Self>() + self.get().map_or(0, Detach::weight)
    }
}

impl Detach for Omitted {
    type Detached = Omitted;

    fn detach(&self) -> Omitted {
        *self
    }

    fn weight(&self) -> usize {
        std::mem::size_of::<Self>()
    }
}

impl<T: Detach> Detach for Items<T> {
    type Detached = Items<T::Detached>;

    fn detach(&self) -> Items<T::Detached> {
        match self {
            Items::Absent => Items::Absent,
            Items::Is(items) => Items::Is(items.iter().map(Detach::detach).collect()),
            Items::Other => Items::Other,
        }
    }

    fn weight(&self) -> usize {
        std::mem::size_of::<Self>()
            + match self {
                Items::Is(items) => items.iter().map(Detach::weight).sum(),
                _ => 0,
            }
    }
}

impl<T: Detach> Detach for OneOrMany<T> {
    type Detached = OneOrMany<T::Detached>;

    fn detach(&self) -> OneOrMany<T::Detached> {
        match self {
            OneOrMany::Neither => OneOrMany::Neither,
            OneOrMany::One(t) => OneOrMany::One(t.detach()),
            OneOrMany::Many(items) => OneOrMany::Many(items.iter().map(Detach::detach).collect()),
        }
    }

    fn weight(&self) -> usize {
        std::mem::size_of::<Self>()
            + match self {
                OneOrMany::Neither => 0,
                OneOrMany::One(t) => t.weight(),
                OneOrMany::Many(items) => items.iter().map(Detach::weight).sum(),
            }
    }
}

/// `Detach` for a record struct: every field detached (the struct's fields are listed, so
/// a field added to the struct and not here fails to compile).
macro_rules! detach_struct {
    ($name:ident { $($field:ident),* $(,)? }) => {
        impl Detach for $name<'_> {
            type Detached = $name<'static>;

            fn detach(&self) -> $name<'static> {
                let $name { $($field),* } = self;
                $name { $($field: $field.detach()),* }
            }

            fn weight(&self) -> usize {
                let $name { $($field),* } = self;
                0 $(+ $field.weight())*
            }
        }
    };
}

detach_struct!(Record {
    event_source,
    event_name,
    event_time,
    event_id,
    source_ip_address,
    user_agent,
    aws_region,
    error_code,
    vpc_endpoint_id,
    vpc_endpoint_account_id,
    tls_details,
    user_identity,
    request_parameters,
    response_elements,
    resources,
    omitted,
});
detach_struct!(TlsDetails { tls_version });
detach_struct!(UserIdentity {
    kind,
    arn,
    account_id,
    access_key_id,
    identity_provider,
    session_context,
});
detach_struct!(SessionContext {
    session_issuer,
    web_id_federation_data,
});
detach_struct!(Arn { arn });
detach_struct!(WebIdFederationData { federated_provider });
detach_struct!(RequestParameters {
    bucket_name,
    key,
    prefix,
    delimiter,
    version_id,
    copy_source,
    delete,
    role_arn,
    omitted,
});
detach_struct!(Delete { object, omitted });
detach_struct!(DeletedObject { key });
detach_struct!(ResponseElements {
    provider,
    subject_from_web_identity_token,
    audience,
    credentials,
    omitted,
});
detach_struct!(Credentials { access_key_id });
detach_struct!(Resource {
    kind,
    arn,
    arn_prefix
});

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::{Value, json};

    /// What a field read as [`Text`] must be, told from the value directly.
    fn text_model(value: Option<&Value>) -> Text<'_> {
        match value {
            None | Some(Value::Null) => Text::Absent,
            Some(Value::String(s)) => Text::Str(Cow::Borrowed(s)),
            Some(_) => Text::Other,
        }
    }

    /// The paths of every string field a record has, and of the objects around them.
    const TEXT_PATHS: &[&str] = &[
        "/eventSource",
        "/eventName",
        "/eventTime",
        "/eventID",
        "/sourceIPAddress",
        "/userAgent",
        "/awsRegion",
        "/errorCode",
        "/vpcEndpointId",
        "/vpcEndpointAccountId",
        "/tlsDetails/tlsVersion",
        "/userIdentity/type",
        "/userIdentity/arn",
        "/userIdentity/accountId",
        "/userIdentity/accessKeyId",
        "/userIdentity/identityProvider",
        "/userIdentity/sessionContext/sessionIssuer/arn",
        "/userIdentity/sessionContext/webIdFederationData/federatedProvider",
        "/requestParameters/bucketName",
        "/requestParameters/key",
        "/requestParameters/prefix",
        "/requestParameters/delimiter",
        "/requestParameters/versionId",
        "/requestParameters/x-amz-copy-source",
        "/requestParameters/roleArn",
        "/responseElements/provider",
        "/responseElements/subjectFromWebIdentityToken",
        "/responseElements/audience",
        "/responseElements/credentials/accessKeyId",
    ];

    /// The same fields, as read.
    fn texts<'r>(r: &'r Record<'_>) -> Vec<&'r Text<'r>> {
        let absent: &'static Text<'static> = &Text::Absent;
        let ui = r.user_identity.get();
        let sc = ui.and_then(|u| u.session_context.get());
        let rp = r.request_parameters.get();
        let re = r.response_elements.get();
        let or = |t: Option<&'r Text<'r>>| t.unwrap_or(absent);
        vec![
            &r.event_source,
            &r.event_name,
            &r.event_time,
            &r.event_id,
            &r.source_ip_address,
            &r.user_agent,
            &r.aws_region,
            &r.error_code,
            &r.vpc_endpoint_id,
            &r.vpc_endpoint_account_id,
            or(r.tls_details.get().map(|t| &t.tls_version)),
            or(ui.map(|u| &u.kind)),
            or(ui.map(|u| &u.arn)),
            or(ui.map(|u| &u.account_id)),
            or(ui.map(|u| &u.access_key_id)),
            or(ui.map(|u| &u.identity_provider)),
            or(sc.and_then(|c| c.session_issuer.get()).map(|i| &i.arn)),
            or(sc
                .and_then(|c| c.web_id_federation_data.get())
                .map(|w| &w.federated_provider)),
            or(rp.map(|p| &p.bucket_name)),
            or(rp.map(|p| &p.key)),
            or(rp.map(|p| &p.prefix)),
            or(rp.map(|p| &p.delimiter)),
            or(rp.map(|p| &p.version_id)),
            or(rp.map(|p| &p.copy_source)),
            or(rp.map(|p| &p.role_arn)),
            or(re.map(|e| &e.provider)),
            or(re.map(|e| &e.subject_from_web_identity_token)),
            or(re.map(|e| &e.audience)),
            or(re
                .and_then(|e| e.credentials.get())
                .map(|c| &c.access_key_id)),
        ]
    }

    fn leaf() -> impl Strategy<Value = Value> {
        prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::from),
            any::<i64>().prop_map(Value::from),
            "[a-z\"\\\\/é]{0,6}".prop_map(Value::from),
        ]
    }

    fn value() -> impl Strategy<Value = Value> {
        leaf().prop_recursive(2, 8, 3, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..3).prop_map(Value::from),
                prop::collection::btree_map("[a-z]{1,3}", inner, 0..3)
                    .prop_map(|m| Value::Object(m.into_iter().collect())),
            ]
        })
    }

    /// Put `v` at `path`, making the objects on the way (a non-object on the way is
    /// replaced).
    fn put(record: &mut Value, path: &str, v: Value) {
        let mut at = record;
        let parts: Vec<&str> = path.trim_start_matches('/').split('/').collect();
        for (i, part) in parts.iter().enumerate() {
            if !at.is_object() {
                *at = json!({});
            }
            let map = at.as_object_mut().unwrap();
            if i + 1 == parts.len() {
                map.insert((*part).to_string(), v);
                return;
            }
            at = map.entry((*part).to_string()).or_insert_with(|| json!({}));
        }
    }

    proptest! {
        /// Every field reads as what the value holds there (a string, absent/null, or
        /// another type), from the text and from a `Value` alike, whatever else the record
        /// holds; a path through a non-object reads as absent.
        #[test]
        fn fields_read_as_the_value_holds(
            fields in prop::collection::vec((0..TEXT_PATHS.len(), value()), 0..12),
            junk in prop::collection::vec(("[a-zA-Z]{1,8}", value()), 0..4),
        ) {
            let mut record = json!({});
            for (k, v) in junk {
                if !TEXT_PATHS.iter().any(|p| p[1..].split('/').next() == Some(k.as_str()))
                    && k != "resources"
                {
                    put(&mut record, &format!("/{k}"), v);
                }
            }
            for (i, v) in fields {
                put(&mut record, TEXT_PATHS[i], v);
            }
            let text = serde_json::to_string(&record).unwrap();
            let parsed = Record::parse(&text).unwrap();
            let from_value = Record::from_value(&record).unwrap();
            prop_assert_eq!(&parsed, &from_value);
            // A detached copy is the same record, whatever it borrowed.
            let detached = parsed.detach();
            prop_assert_eq!(&detached, &parsed);
            let strings: usize = texts(&parsed).iter().map(|t| t.get().map_or(0, str::len)).sum();
            prop_assert!(detached.weight() >= strings);
            for (path, read) in TEXT_PATHS.iter().zip(texts(&parsed)) {
                prop_assert_eq!(read, &text_model(record.pointer(path)), "{}", path);
            }
        }
    }

    #[test]
    fn strings_with_escapes_are_copied_and_others_borrowed() {
        let text = r#"{"eventName":"Get\"Object","eventSource":"s3.amazonaws.com"}"#;
        let r = Record::parse(text).unwrap();
        assert_eq!(
            r.event_name,
            Text::Str(Cow::Owned("Get\"Object".to_string()))
        );
        assert!(matches!(
            r.event_source,
            Text::Str(Cow::Borrowed("s3.amazonaws.com"))
        ));
    }

    #[test]
    fn not_an_object_or_a_repeated_field_is_an_error() {
        for text in ["[1]", "12", "\"x\"", "null", " \n[\"s3.amazonaws.com\"]"] {
            let e = Record::parse(text).unwrap_err();
            assert_eq!(e.to_string(), "a record is not a JSON object");
            assert!(e.is_data());
            let v: Value = serde_json::from_str(text).unwrap();
            assert!(Record::from_value(&v).is_err());
        }
        let e = Record::parse(r#"{"eventName":"GetObject","eventName":"PutObject"}"#).unwrap_err();
        assert!(e.to_string().contains("duplicate field `eventName`"), "{e}");
        // Text that is not JSON is a syntax error, wherever it starts.
        for text in ["garbage here", "[1,", "\u{feff}{}", "{\"a\":}"] {
            let e = Record::parse(text).unwrap_err();
            assert!(e.is_syntax() || e.is_eof(), "{text}: {e}");
        }
        // A repeated field that is not read is skipped like any other.
        assert!(Record::parse(r#"{"Host":1,"Host":2}"#).is_ok());
    }

    #[test]
    fn containers_of_the_wrong_type_are_told_apart_from_absent() {
        let r = Record::parse(
            r#"{"userIdentity":"x","resources":{},"requestParameters":null,
                "tlsDetails":[1],"responseElements":{"credentials":7}}"#,
        )
        .unwrap();
        assert_eq!(r.user_identity, Obj::Other);
        assert_eq!(r.resources, Items::Other);
        assert_eq!(r.request_parameters, Obj::Absent);
        assert_eq!(r.tls_details, Obj::Other);
        assert_eq!(r.response_elements.get().unwrap().credentials, Obj::Other);
        let r = Record::parse(
            r#"{"requestParameters":{"delete":{"Object":[{"Key":"a"},3]}},
                "resources":[{"type":"AWS::S3::Object","ARN":"arn:aws:s3:::b/a"},"x"]}"#,
        )
        .unwrap();
        let deleted = &r
            .request_parameters
            .get()
            .unwrap()
            .delete
            .get()
            .unwrap()
            .object;
        let OneOrMany::Many(items) = deleted else {
            panic!("{deleted:?}")
        };
        assert_eq!(items[0].get().unwrap().key.get(), Some("a"));
        assert_eq!(items[1], Obj::Other);
        let Items::Is(resources) = &r.resources else {
            panic!()
        };
        assert_eq!(resources.len(), 2);
        assert_eq!(resources[1], Obj::Other);
    }
}
