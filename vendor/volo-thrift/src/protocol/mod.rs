pub use pilota::thrift::{
    TInputProtocol, TLengthProtocol, TMessageIdentifier, TMessageType, TOutputProtocol,
};
