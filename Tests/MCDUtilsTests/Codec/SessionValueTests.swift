import MCDUtils
import Testing

@Suite("SessionValue")
struct SessionValueTests {
  @Test func literalsBuildTheMatchingCases() {
    let value: SessionValue = [
      "nil": nil, "bool": true, "int": 42, "double": 2.5, "string": "text", "array": [1, 2],
    ]
    #expect(value["nil"] == .nil)
    #expect(value["bool"] == .bool(true))
    #expect(value["int"] == .int(42))
    #expect(value["double"] == .double(2.5))
    #expect(value["string"] == .string("text"))
    #expect(value["array"] == .array([.int(1), .int(2)]))
  }

  @Test func dictionaryLiteralWithARepeatedKeyKeepsTheLastValue() {
    let value: SessionValue = ["key": 1, "key": 2]
    #expect(value["key"] == 2)
  }

  @Test func typedAccessorsReturnTheirCaseAndNilOtherwise() {
    #expect(SessionValue.bool(true).boolValue == true)
    #expect(SessionValue.int(3).intValue == 3)
    #expect(SessionValue.double(1.25).doubleValue == 1.25)
    #expect(SessionValue.string("s").stringValue == "s")
    #expect(SessionValue.bytes([1, 2]).bytesValue == [1, 2])
    #expect(SessionValue.array([nil]).arrayValue == [.nil])
    #expect(SessionValue.map(["a": 1]).mapValue == ["a": .int(1)])
    #expect(SessionValue.nil.isNil)
    #expect(SessionValue.int(3).boolValue == nil)
    #expect(SessionValue.string("3").intValue == nil)
    #expect(SessionValue.int(3).doubleValue == nil)
    #expect(SessionValue.nil.stringValue == nil)
    #expect(!SessionValue.int(0).isNil)
  }

  @Test func subscriptsReturnNilWhenMissingOutOfRangeOrOfAnotherCase() {
    let array: SessionValue = [10, 20]
    #expect(array[1] == 20)
    #expect(array[2] == nil)
    #expect(array[-1] == nil)
    #expect(array["key"] == nil)
    let map: SessionValue = ["key": "value"]
    #expect(map["key"] == "value")
    #expect(map["other"] == nil)
    #expect(map[0] == nil)
  }

  @Test func descriptionIsStableWithSortedKeysAndHexBytes() {
    let value: SessionValue = [
      "b": [1, 2.5, nil, true], "a": "x\"y", "c": .bytes([0x0A, 0xFF]), "d": [:],
    ]
    #expect(value.description == #"["a": "x\"y", "b": [1, 2.5, nil, true], "c": <0aff>, "d": [:]]"#)
  }
}
