#include "loggers/tensorboard_events.h"

#include "loggers/tensorboard.pb.h"

#include <type_traits>
#include <utility>

namespace lightning::detail::tensorboard_events {
namespace tb = lightning::tensorboard;

namespace {

tb::Summary::Value hparams_value(const std::string& tag, const tb::HParamsPluginData& data) {
  tb::Summary::Value value;
  value.set_tag(tag);
  auto* plugin = value.mutable_metadata()->mutable_plugin_data();
  plugin->set_plugin_name("hparams");
  plugin->set_content(data.SerializeAsString());
  return value;
}

}  // namespace

std::string file_version(double wall_time) {
  tb::Event header;
  header.set_wall_time(wall_time);
  header.set_file_version("brain.Event:2");
  return header.SerializeAsString();
}

std::string scalars(const std::map<std::string, double>& values, int64_t step, double wall_time) {
  tb::Event event;
  event.set_wall_time(wall_time);
  event.set_step(step);
  for (const auto& [tag, value] : values) {
    auto* entry = event.mutable_summary()->add_value();
    entry->set_tag(tag);
    entry->set_simple_value(static_cast<float>(value));
  }
  return event.SerializeAsString();
}

std::vector<std::string> hparams(const std::map<std::string, HParamValue>& values, bool hp_metric, double wall_time) {
  tb::HParamsPluginData experiment, start, end;
  auto* infos = experiment.mutable_experiment();
  auto* session_values = start.mutable_session_start_info()->mutable_hparams();
  for (const auto& [key, value] : values) {
    auto* info = infos->add_hparam_infos();
    info->set_name(key);
    google::protobuf::Value& proto = (*session_values)[key];
    std::visit(
        [&](const auto& v) {
          using T = std::decay_t<decltype(v)>;
          if constexpr (std::is_same_v<T, bool>) {
            info->set_type(tb::DATA_TYPE_BOOL);
            proto.set_bool_value(v);
          } else if constexpr (std::is_same_v<T, std::string>) {
            info->set_type(tb::DATA_TYPE_STRING);
            proto.set_string_value(v);
          } else {
            info->set_type(tb::DATA_TYPE_FLOAT64);
            proto.set_number_value(static_cast<double>(v));
          }
        },
        value);
  }
  if (hp_metric) infos->add_metric_infos()->mutable_name()->set_tag("hp_metric");
  end.mutable_session_end_info()->set_status(tb::STATUS_SUCCESS);
  std::vector<std::string> events;
  for (const auto& [tag, data] : {std::pair{"_hparams_/experiment", &experiment},
                                  std::pair{"_hparams_/session_start_info", &start},
                                  std::pair{"_hparams_/session_end_info", &end}}) {
    tb::Event event;
    event.set_wall_time(wall_time);
    *event.mutable_summary()->add_value() = hparams_value(tag, *data);
    events.push_back(event.SerializeAsString());
  }
  return events;
}

}  // namespace lightning::detail::tensorboard_events
